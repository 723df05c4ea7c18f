import type { MessageContent } from '@pushrelay/core';
import { pythonStr } from './python-json.js';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** webhookd's voicemail title and body (`.get(key, default)`: a null value prints as None). */
export function voicemailTexts(items: unknown): Required<MessageContent> {
  const message = isRecord(items) && isRecord(items.message) ? items.message : {};
  const name = 'caller_id_name' in message ? pythonStr(message.caller_id_name) : 'Unknown';
  const number = 'caller_id_num' in message ? pythonStr(message.caller_id_num) : '';
  return { title: 'New Voicemail', body: `From: ${name} (${number})` };
}

function truthyText(value: unknown): string | undefined {
  if (value === null || value === undefined || value === '' || value === false || value === 0) return undefined;
  return pythonStr(value);
}

/** webhookd's chat title and body: messages over 100 characters cut to 97 plus "...". */
export function messageTexts(items: unknown): Required<MessageContent> {
  const data = isRecord(items) ? items : {};
  const alias = truthyText(data.alias) ?? '[Unknown]';
  const content = truthyText(data.content) ?? '';
  const chars = [...content];
  return {
    title: `New Message from ${alias}`,
    body: chars.length > 100 ? `${chars.slice(0, 97).join('')}...` : content,
  };
}

/** webhookd's missed-call title and body. */
export function missedCallTexts(name: unknown, number: unknown): Required<MessageContent> {
  return {
    title: 'Missed Call',
    body: `From: ${truthyText(name) ?? '<name unknown>'} (${truthyText(number) ?? '<number unknown>'})`,
  };
}
