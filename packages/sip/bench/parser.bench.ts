import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bench, describe } from 'vitest';
import { getContacts, parseMessage, serialize, StreamParser } from '../src/index.js';

const load = (name: string) => readFileSync(fileURLToPath(new URL(`../test/fixtures/${name}`, import.meta.url)));
const invite = load('real/invite-sdp.sip');
const register = load('real/register-rfc8599-apns.sip');
const stream = Buffer.concat(Array.from({ length: 100 }, () => register));
const parsedInvite = parseMessage(invite);

describe('SIP parsing', () => {
  bench('parseMessage: INVITE with SDP (1 message)', () => {
    parseMessage(invite);
  });
  bench('parseMessage + getContacts: RFC 8599 REGISTER (1 message)', () => {
    getContacts(parseMessage(register));
  });
  bench('StreamParser: 100 REGISTERs in 1400-byte chunks', () => {
    const parser = new StreamParser();
    for (let offset = 0; offset < stream.length; offset += 1400) parser.push(stream.subarray(offset, offset + 1400));
  });
  bench('serialize: INVITE with SDP (1 message)', () => {
    serialize(parsedInvite);
  });
});
