/**
 * Fuzzes what reads untrusted input, with fast-check inputs, and measures it: the SIP parser and
 * its header readers, every codec's decoding (Wazo, Kaleyra, SignalWire webhooks, the Mizutech
 * X-MPUSH header, RFC 8599 / ECSS-10 Contact parameters, the SignalWire client decoder) here;
 * the config loaders (app-kit engine sections and environment, the gateway's parseConfig) and
 * every JSON route of the gateway (fastify inject) in apps/http-gateway/test/fixtures/fuzz-worker.ts,
 * the bridge's resolveConfig in apps/sip-bridge/test/fixtures/fuzz-worker.ts, each a child process
 * (a tool does not import apps). A finding is anything else than the target's typed error (for a
 * route: a 5xx, or a 4xx without an error code), an unhandled rejection, or an input over 100 ms.
 * Usage: npm run fuzz -w @pushrelay/bench -- [--inputs 1000000] [--seed 1] [--only sip,codecs,gateway,bridge]
 */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { parseRfc8599Params } from '@pushrelay/codec-ecss';
import { kaleyraCodec } from '@pushrelay/codec-kaleyra';
import { parseMizuPushHeader } from '@pushrelay/codec-mizutech';
import { openSignalWirePush, signalWireCodec } from '@pushrelay/codec-signalwire';
import { wazoCodec } from '@pushrelay/codec-wazo';
import { CodecError } from '@pushrelay/core';
import {
  getContacts,
  getFrom,
  getTo,
  getVias,
  parseAuthHeader,
  parseMessage,
  SipParseError,
  StreamParser,
} from '@pushrelay/sip';
import { runFuzzTargets, type FuzzResult, type FuzzTarget } from '@pushrelay/testkit';

const { values } = parseArgs({
  options: {
    inputs: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: '1' },
    only: { type: 'string', default: 'sip,codecs,gateway,bridge' },
  },
});
const INPUTS = Number(values.inputs);
const SEED = Number(values.seed);
const ONLY = new Set(values.only.split(','));
const NOW = Date.parse('2026-01-01T00:00:00Z');

type Target = FuzzTarget;

// --- SIP -----------------------------------------------------------------------------------
const SIP_SEEDS = [
  'REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK1;rport\r\nFrom: <sip:alice@127.0.0.1>;tag=a\r\nTo: <sip:alice@127.0.0.1>\r\nCall-ID: c1@x\r\nCSeq: 1 REGISTER\r\nContact: <sip:alice@10.0.0.2:5060;pn-provider=apns;pn-prid=ab;pn-param=TEAM.com.example.voip>;+sip.instance="<urn:uuid:1>"\r\nX-MPUSH: i:com.example:abcdef\r\nAuthorization: Digest username="alice", realm="r", nonce="n", uri="sip:127.0.0.1", response="x", algorithm=SHA-256, qop=auth, nc=00000001, cnonce="c"\r\nContent-Length: 0\r\n\r\n',
  'INVITE sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.3;branch=z9hG4bK2\r\nv: SIP/2.0/UDP 10.0.0.4\r\nf: "Bob" <sip:bob@x>;tag=1\r\nt: <sip:alice@x>\r\ni: c2@x\r\nCSeq: 1 INVITE\r\nm: <sip:bob@10.0.0.3;transport=tcp>\r\nRecord-Route: <sip:p1;lr>,<sip:p2;lr>\r\nl: 9\r\nContent-Type: application/sdp\r\n\r\nv=0\r\nm=audio',
  'SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=a\r\nTo: <sip:a@x>;tag=b\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\nWWW-Authenticate: Digest realm="r", nonce="n", algorithm=SHA-256, qop="auth"\r\nWWW-Authenticate: Digest realm="r", nonce="n", algorithm=MD5\r\nContent-Length: 0\r\n\r\n',
];
const SIP_TOKENS = [
  '"',
  '<',
  '>',
  ';',
  ',',
  ':',
  '\r\n',
  '\r\n ',
  '\\',
  '%',
  '%0',
  '=',
  '@',
  '[',
  ']',
  ' ',
  '\t',
  '\0',
  'z9hG4bK',
  'Content-Length: 999999\r\n',
  'Via: ',
  ';branch=',
  ';tag',
  'sip:',
  'SIP/2.0',
];
const sipMutations = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 60 }) }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.constantFrom(...SIP_TOKENS) }),
    fc.record({
      kind: fc.constant('repeat' as const),
      at: fc.nat(),
      length: fc.integer({ min: 1, max: 30 }),
      times: fc.integer({ min: 2, max: 300 }),
    }),
  ),
  { minLength: 1, maxLength: 8 },
);
const sipInput = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(fc.constantFrom(...SIP_SEEDS), sipMutations).map(([seed, ms]) => mutate(seed, ms)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 400 }).map((s) => Buffer.from(s)) },
);

type Mutation =
  | { kind: 'flip'; at: number; byte: number }
  | { kind: 'cut'; at: number; length: number }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'repeat'; at: number; length: number; times: number };

function mutate(seed: string, mutations: Mutation[]): Buffer {
  let bytes = Buffer.from(seed, 'latin1');
  for (const m of mutations) {
    const at = bytes.length === 0 ? 0 : m.at % bytes.length;
    if (m.kind === 'flip') {
      if (bytes.length > 0) bytes[at] = m.byte;
    } else if (m.kind === 'cut') bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + m.length)]);
    else if (m.kind === 'insert')
      bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(m.text, 'latin1'), bytes.subarray(at)]);
    else {
      const piece = bytes.subarray(at, at + m.length);
      bytes = Buffer.concat([
        bytes.subarray(0, at),
        ...Array.from({ length: m.times }, () => piece),
        bytes.subarray(at),
      ]);
    }
  }
  return bytes;
}

const sipTyped = (error: unknown): boolean => error instanceof SipParseError;
const sipTargets: Target[] = [
  {
    name: 'sip.parseMessage+headers',
    weight: 30,
    inputs: sipInput,
    run: (input) => {
      const message = parseMessage(input as Buffer);
      getVias(message);
      getFrom(message);
      getTo(message);
      getContacts(message);
      for (const h of message.headers) if (/authenticate|authorization/i.test(h.name)) parseAuthHeader(h.value);
    },
    typed: sipTyped,
  },
  {
    name: 'sip.StreamParser',
    weight: 10,
    inputs: fc.tuple(sipInput, fc.array(fc.nat({ max: 700 }), { maxLength: 5 })),
    run: (input) => {
      const [bytes, cuts] = input as [Buffer, number[]];
      const parser = new StreamParser();
      let from = 0;
      for (const cut of [...cuts].sort((a, b) => a - b)) {
        parser.push(bytes.subarray(from, Math.max(from, cut)));
        from = Math.max(from, cut);
      }
      parser.push(bytes.subarray(from));
    },
    typed: sipTyped,
  },
];

// --- codecs --------------------------------------------------------------------------------
const leaf = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.double(), fc.jsonValue());
const wazoLike = fc.record(
  {
    name: fc.oneof(fc.constantFrom('user_mobile_notification', 'incoming_call', 'cancel_incoming_call'), fc.string()),
    origin_uuid: leaf,
    data: fc.oneof(
      fc.record(
        {
          peer_caller_id_number: leaf,
          peer_caller_id_name: leaf,
          call_id: leaf,
          video: leaf,
          sip_call_id: leaf,
          notification_type: leaf,
          items: leaf,
        },
        { requiredKeys: [] },
      ),
      leaf,
    ),
    user_uuid: leaf,
    notification_type: leaf,
    items: leaf,
  },
  { requiredKeys: [] },
);
const kaleyraLike = fc.record(
  {
    event: fc.oneof(
      fc.constantFrom('on_call_incoming', 'on_call_cancelled', 'on_message_sent', 'on_room_created'),
      fc.string(),
    ),
    room_id: leaf,
    data: fc.oneof(
      fc.record(
        { user_id: leaf, caller: leaf, callee: leaf, participants: leaf, room: leaf, is_video: leaf },
        { requiredKeys: [] },
      ),
      leaf,
    ),
    namespace: leaf,
    version: leaf,
  },
  { requiredKeys: [] },
);
const codecTyped = (error: unknown): boolean => error instanceof CodecError;
const context = { tenant: 't', now: NOW };
const paramsString = fc
  .array(
    fc.tuple(
      fc.oneof(
        fc.constantFrom('pn-provider', 'pn-prid', 'pn-param', 'pn-params', 'pn-purr', 'transport', 'pn-silent'),
        fc.string({ maxLength: 12 }),
      ),
      fc.oneof(
        fc.constantFrom('apns', 'fcm', 'hms', 'webpush', 'abc123', 'TEAM.com.example.voip', '', '%zz', '"q"'),
        fc.string({ maxLength: 40 }),
      ),
    ),
    { maxLength: 6 },
  )
  .map((pairs) => pairs.map(([k, v]) => `;${k}=${v}`).join(''));
const codecTargets: Target[] = [
  {
    name: 'codec.wazo.decode',
    weight: 6,
    inputs: fc.oneof(fc.jsonValue(), wazoLike, fc.anything()),
    run: (i) => wazoCodec.decode!(i, context),
    typed: codecTyped,
  },
  {
    name: 'codec.kaleyra.decode',
    weight: 6,
    inputs: fc.oneof(fc.jsonValue(), kaleyraLike, fc.anything()),
    run: (i) => kaleyraCodec.decode!(i, context),
    typed: codecTyped,
  },
  {
    name: 'codec.signalwire.decode',
    weight: 4,
    inputs: fc.oneof(fc.jsonValue(), fc.anything()),
    run: (i) => signalWireCodec.decode!(i, context),
    typed: codecTyped,
  },
  {
    name: 'codec.signalwire.openPush',
    weight: 3,
    inputs: fc.tuple(
      fc.oneof(
        fc.jsonValue(),
        fc.record(
          {
            invite: fc.oneof(fc.base64String(), fc.string()),
            encryption_type: fc.oneof(fc.constant('aes_256_gcm'), fc.string()),
            iv: fc.base64String(),
            tag: fc.base64String(),
          },
          { requiredKeys: [] },
        ),
      ),
      fc.option(fc.base64String({ maxLength: 64 }), { nil: undefined }),
    ),
    run: (i) => {
      const [push, key] = i as [unknown, string | undefined];
      return openSignalWirePush(push, key);
    },
    typed: codecTyped,
  },
  {
    name: 'codec.mizutech.X-MPUSH',
    weight: 5,
    inputs: fc.oneof(
      fc.string({ maxLength: 200 }),
      fc
        .tuple(fc.constantFrom('i', 'a', 'x', ''), fc.string({ maxLength: 40 }), fc.string({ maxLength: 200 }))
        .map((p) => p.join(':')),
    ),
    run: (i) => parseMizuPushHeader(i as string),
    typed: codecTyped,
  },
  {
    name: 'codec.ecss.rfc8599',
    weight: 5,
    inputs: fc.oneof(
      paramsString,
      fc.string({ maxLength: 200 }),
      fc.dictionary(fc.string({ maxLength: 12 }), fc.oneof(fc.string(), fc.constant(null)) as fc.Arbitrary<string>),
    ),
    run: (i) => parseRfc8599Params(i as string),
    typed: codecTyped,
  },
];

/** The weights of the groups: inputs are split across them in these shares. */
const GROUPS = { sip: 40, codecs: 29, gateway: 25, bridge: 6 } as const;
const root = resolve(fileURLToPath(import.meta.url), '../../../..');
const WORKERS = {
  gateway: 'apps/http-gateway/test/fixtures/fuzz-worker.ts',
  bridge: 'apps/sip-bridge/test/fixtures/fuzz-worker.ts',
} as const;

/** Runs an app's fuzz worker (through the same TypeScript runner) and reads its result line. */
function worker(file: string, inputs: number): Promise<FuzzResult & { unhandledRejections: number }> {
  return new Promise((ok, fail) => {
    const child = spawn(
      process.execPath,
      [join(root, 'tools/bench/run-ts.mjs'), join(root, file), '--inputs', String(inputs), '--seed', String(SEED)],
      { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', fail);
    child.on('exit', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      try {
        ok(JSON.parse(line) as FuzzResult & { unhandledRejections: number });
      } catch {
        fail(new Error(`${file} exited with ${code} and no result: ${out.slice(-500)}`));
      }
    });
  });
}

async function main(): Promise<void> {
  let unhandled = 0;
  process.on('unhandledRejection', (reason) => {
    unhandled++;
    console.error('unhandled rejection:', reason);
  });
  const groups = (Object.keys(GROUPS) as (keyof typeof GROUPS)[]).filter((g) => ONLY.has(g));
  const weight = groups.reduce((sum, g) => sum + GROUPS[g], 0);
  const share = (g: keyof typeof GROUPS): number => Math.round((INPUTS * GROUPS[g]) / weight);
  const started = performance.now();
  const results: Array<FuzzResult & { unhandledRejections?: number }> = [];
  const local = [...(ONLY.has('sip') ? sipTargets : []), ...(ONLY.has('codecs') ? codecTargets : [])];
  if (local.length > 0) {
    const inputs = (ONLY.has('sip') ? share('sip') : 0) + (ONLY.has('codecs') ? share('codecs') : 0);
    // The SIP and codec targets' weights already stand 40 : 29.
    results.push(await runFuzzTargets(local, { inputs, seed: SEED }));
  }
  for (const g of ['gateway', 'bridge'] as const) if (ONLY.has(g)) results.push(await worker(WORKERS[g], share(g)));
  const seconds = (performance.now() - started) / 1000;
  const inputs = results.reduce((s, r) => s + r.inputs, 0);
  console.log(
    JSON.stringify(
      {
        inputs,
        seed: SEED,
        seconds: Math.round(seconds * 10) / 10,
        inputsPerSecond: Math.round(inputs / seconds),
        findings: results.reduce((s, r) => s + r.findings, 0),
        over100ms: results.reduce((s, r) => s + r.overSlowMs, 0),
        unhandledRejections: unhandled + results.reduce((s, r) => s + (r.unhandledRejections ?? 0), 0),
        targets: Object.assign({}, ...results.map((r) => r.targets)) as Record<string, unknown>,
      },
      null,
      2,
    ),
  );
  for (const r of results) for (const example of r.examples) console.log(`finding: ${example}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
