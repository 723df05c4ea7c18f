import { createCipheriv } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { writeFileSync, mkdirSync } from 'node:fs';

// Writes the golden fixtures with node:crypto and node:zlib directly, independently of the codec.
// Usage: node scripts/make-fixtures.mjs [fixtures dir]
const dir = process.argv[2] ?? new URL('../fixtures', import.meta.url).pathname;
mkdirSync(dir + '/title-and-body', { recursive: true });
const KEY_B64 = Buffer.from(Array.from({ length: 32 }, (_, i) => i + 1)).toString('base64');
const IV_B64 = '+ojw3NtIgHkHAoD5';

const invite = {
  node_id: '6b0b0a8a-2c34-4b0e-9f4e-2d1c5e0c9a11@puc',
  params: {
    jsonrpc: '2.0',
    id: 'e1d2c3b4-a596-4877-8899-aabbccddeeff',
    method: 'verto.invite',
    params: {
      callID: '5c3c2f0e-7a0b-4c51-9d1e-2b8f6a4d3c21',
      sdp: 'v=0\r\no=FreeSWITCH 1700000000 1700000001 IN IP4 203.0.113.10\r\ns=FreeSWITCH\r\nc=IN IP4 203.0.113.10\r\nt=0 0\r\nm=audio 24580 UDP/TLS/RTP/SAVPF 111 0 8\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\nm=video 24582 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\n',
      caller_id_name: 'Tester',
      caller_id_number: '0123456789',
      callee_id_name: 'Bob',
      callee_id_number: '/public/bob',
      display_direction: 'inbound',
    },
  },
};

function seal(inv, keyB64) {
  const z = deflateSync(Buffer.from(JSON.stringify(inv)));
  if (!keyB64) return { iv: '', tag: '', invite: z.toString('base64') };
  const c = createCipheriv('aes-256-gcm', Buffer.from(keyB64, 'base64'), Buffer.from(IV_B64, 'base64'));
  const ct = Buffer.concat([c.update(z), c.final()]);
  return { iv: IV_B64, tag: c.getAuthTag().toString('base64'), invite: ct.toString('base64') };
}
function core(keyB64) {
  const s = seal(invite, keyB64);
  return {
    version: '1',
    type: 'call_invite',
    title: 'Incoming Call',
    notification_uuid: '982cf533-7b1b-4cf6-a6e0-004aab68c503',
    incoming_caller_id: '0123456789',
    incoming_caller_name: 'Tester',
    with_video: 'true',
    encryption_type: keyB64 ? 'aes_256_gcm' : 'none',
    iv: s.iv,
    tag: s.tag,
    invite: s.invite,
  };
}
const notification = {
  id: '982cf533-7b1b-4cf6-a6e0-004aab68c503',
  type: 'incoming_call',
  tenant: 'space-1',
  recipient: 'bob',
  call: {
    id: invite.params.params.callID,
    from: { number: '0123456789', displayName: 'Tester' },
    to: { number: '/public/bob', displayName: 'Bob' },
    video: true,
    startedAt: '2024-08-06T12:00:00.000Z',
  },
  createdAt: '2024-08-06T12:00:00.000Z',
  deadline: '2024-08-06T12:00:30.000Z',
  priority: 'high',
  vendor: { invite },
};
// A browser subscription (the binding token of a web device): endpoint and RFC 8291 keys.
const WEB_SUBSCRIPTION = JSON.stringify({
  endpoint: 'https://push.example.net/push/v2/gAAAAABmsfZq',
  keys: {
    p256dh: 'BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4',
    auth: 'BTBZMqHH6r4Tts7J_aSIgg',
  },
});
const binding = (provider, pushKind, key) => ({
  id: `${provider}-1`,
  tenant: 'space-1',
  userId: 'bob',
  provider,
  token: provider === 'apns' ? 'a1b2c3d4e5f6' : provider === 'webpush' ? WEB_SUBSCRIPTION : 'T',
  app:
    provider === 'apns'
      ? 'com.example.softphone'
      : provider === 'fcm'
        ? 'example-project'
        : provider === 'webpush'
          ? 'web.example.com'
          : '104532781',
  environment: 'production',
  pushKind,
  format: 'signalwire',
  ...(key ? { secrets: { pushKey: key } } : {}),
  origin: 'api',
  createdAt: '2024-08-01T00:00:00.000Z',
  updatedAt: '2024-08-01T00:00:00.000Z',
});
const req = (b, pushType, payload) => ({
  provider: b.provider,
  token: b.token,
  app: b.app,
  environment: b.environment,
  pushType,
  priority: 'high',
  expiresAt: Date.parse(notification.deadline),
  payload,
});
const w = (name, f) => writeFileSync(`${dir}/${name}`, JSON.stringify(f, null, 2) + '\n');

let b = binding('apns', 'voip', KEY_B64);
w('apns-voip-seed-example.json', {
  description:
    "the APNs VoIP example of SignalWire's community script (iv injected; tag and invite are this key's, the example's key is unknown)",
  encode: { notification, binding: b, expected: req(b, 'voip', { aps: { alert: core(KEY_B64) } }) },
});
b = binding('fcm', 'alert', KEY_B64);
w('fcm-android-web-seed-example.json', {
  description: 'Android and web: the core payload as a JSON string in notification.body, empty data (seed 000)',
  encode: {
    notification,
    binding: b,
    expected: req(b, 'alert', { notification: { body: JSON.stringify(core(KEY_B64)) }, data: {} }),
  },
});
b = binding('webpush', 'alert', KEY_B64);
w('webpush-web-seed-example.json', {
  description:
    "web: SignalWire's Android and web wrapping (seed 000) as the Web Push plaintext the service worker reads with event.data.json()",
  encode: {
    notification,
    binding: b,
    expected: req(b, 'alert', { notification: { body: JSON.stringify(core(KEY_B64)) }, data: {} }),
  },
});
b = binding('fcm', 'alert', KEY_B64);
w('title-and-body/fcm-reference-example.json', {
  description: 'the FCM shape of vendor-formats.md 3: title and body, no data block',
  encode: {
    notification,
    binding: b,
    expected: req(b, 'alert', { notification: { title: 'Incoming Call', body: JSON.stringify(core(KEY_B64)) } }),
  },
});
b = binding('hms', 'alert', KEY_B64);
w('hms-inferred.json', {
  description: 'HMS by analogy with FCM (inferred): title and body in notification; HMS data must be a string, so none',
  encode: {
    notification,
    binding: b,
    expected: req(b, 'alert', { notification: { title: 'Incoming Call', body: JSON.stringify(core(KEY_B64)) } }),
  },
});
b = binding('fcm', 'data', undefined);
w('fcm-no-key.json', {
  description:
    'a device registered without a key gets encryption_type none, empty iv and tag, and the zlib invite in base64',
  encode: {
    notification,
    binding: b,
    expected: req(b, 'alert', { notification: { body: JSON.stringify(core(undefined)) }, data: {} }),
  },
});
b = binding('apns', 'alert', KEY_B64);
w('apns-alert-not-pushed.json', {
  description: 'SignalWire only sends PushKit VoIP pushes to iOS, so an alert-only iOS binding gets nothing',
  encode: { notification, binding: b, expected: null },
});
b = binding('apns', 'voip', KEY_B64);
w('call-cancelled-not-pushed.json', {
  description: 'SignalWire pushes only call_invite; a cancel goes over the WebSocket',
  encode: { notification: { ...notification, id: 'cancel-1', type: 'call_cancelled' }, binding: b, expected: null },
});
const { vendor: _v, ...rest } = notification;
w('decode-call.json', {
  description: 'a call to deliver: the verto invite and the callee; caller from the invite, video from the SDP',
  decode: {
    input: {
      notification_uuid: '982cf533-7b1b-4cf6-a6e0-004aab68c503',
      callee_user_id: 'bob',
      ring_timeout: 30,
      invite,
    },
    tenant: 'space-1',
    now: '2024-08-06T12:00:00.000Z',
    expected: [{ ...rest, vendor: { invite } }],
  },
});
w('decode-call-defaults.json', {
  description: 'no uuid, caller override, no video flag in an audio-only SDP, default ring timeout',
  decode: {
    input: {
      callee_user_id: 'bob',
      caller: { id: '+15551230000', name: 'Front desk' },
      invite: {
        ...invite,
        params: {
          ...invite.params,
          params: {
            ...invite.params.params,
            sdp: 'v=0\r\nm=audio 1 RTP/AVP 0\r\n',
            callee_id_name: undefined,
            callee_id_number: undefined,
          },
        },
      },
    },
    tenant: 'space-1',
    now: '2024-08-06T12:00:00.000Z',
    expected: [
      {
        id: invite.params.params.callID,
        type: 'incoming_call',
        tenant: 'space-1',
        recipient: 'bob',
        call: {
          id: invite.params.params.callID,
          from: { number: '+15551230000', displayName: 'Front desk' },
          video: false,
          startedAt: '2024-08-06T12:00:00.000Z',
        },
        createdAt: '2024-08-06T12:00:00.000Z',
        deadline: '2024-08-06T12:00:30.000Z',
        priority: 'high',
        vendor: {
          invite: {
            ...invite,
            params: {
              ...invite.params,
              params: {
                ...invite.params.params,
                sdp: 'v=0\r\nm=audio 1 RTP/AVP 0\r\n',
                callee_id_name: undefined,
                callee_id_number: undefined,
              },
            },
          },
        },
      },
    ],
  },
});
w('malformed-no-invite.json', {
  description: 'a call without its invite',
  malformed: { input: { callee_user_id: 'bob' }, error: 'invite: must be a verto invite object' },
});
w('malformed-not-invite.json', {
  description: 'a verto message that is not an invite',
  malformed: {
    input: { callee_user_id: 'bob', invite: { params: { method: 'verto.bye', params: { callID: 'x' } } } },
    error: 'invite.params.method: must be "verto.invite"',
  },
});
w('malformed-no-callee.json', {
  description: 'nobody to ring',
  malformed: { input: { invite }, error: 'callee_user_id: is required' },
});
w('malformed-ring-timeout.json', {
  description: 'ring_timeout in milliseconds by mistake',
  malformed: {
    input: { callee_user_id: 'bob', ring_timeout: 30000, invite },
    error: 'ring_timeout: must be whole seconds between 1 and 600',
  },
});
console.log(KEY_B64);
