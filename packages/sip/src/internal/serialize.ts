import type { SipMessage } from './message.js';

/**
 * Wire form of a message. Content-Length always matches the body: it is rewritten in place when
 * present and appended when missing, since a stale value would break stream framing.
 */
export function serialize(message: SipMessage): Buffer {
  const startLine =
    message.kind === 'request'
      ? `${message.method} ${message.uri} ${message.version}`
      : `${message.version} ${message.status} ${message.reason}`;
  const lines = [startLine];
  let wroteLength = false;
  for (const header of message.headers) {
    if (header.name.toLowerCase() === 'content-length') {
      if (wroteLength) continue;
      wroteLength = true;
      lines.push(`Content-Length: ${message.body.length}`);
    } else {
      lines.push(`${header.name}: ${safe(header.value)}`);
    }
  }
  if (!wroteLength) lines.push(`Content-Length: ${message.body.length}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8');
  return message.body.length === 0 ? head : Buffer.concat([head, message.body]);
}

/** Line breaks inside a value would inject headers of someone else's choosing; they become spaces. */
function safe(value: string): string {
  return value.includes('\r') || value.includes('\n') ? value.replace(/[\r\n]+/g, ' ') : value;
}
