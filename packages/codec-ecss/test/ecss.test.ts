import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CodecError,
  payloadLimit,
  payloadSize,
  type CallNotification,
  type DeviceBinding,
  type DeviceBindingInput,
} from '@pushrelay/core';
import { Rfc8599ParamsError, createEcssCodec, ecssCodec, parseRfc8599Params } from '../src/index.js';

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('parseRfc8599Params', () => {
  it('reads an RFC 8599 APNs VoIP contact: Team ID and .voip come off the bundle id', () => {
    expect(
      parseRfc8599Params(
        ';pn-provider=apns;pn-param=ABCD1234.org.linphone.phone.voip;pn-prid=00fc13adff78;transport=tcp',
      ),
    ).toEqual({
      provider: 'apns',
      app: 'org.linphone.phone',
      token: '00fc13adff78',
      pushKind: 'voip',
      environment: 'production',
      format: 'ecss',
      origin: 'sip-rfc8599',
      params: { 'pn-param': 'ABCD1234.org.linphone.phone.voip' },
    });
  });

  it('reads an APNs contact without .voip as an alert binding', () => {
    const parsed = parseRfc8599Params({
      'pn-provider': 'apns',
      'pn-prid': 'aa',
      'pn-param': 'TEAM123456.com.example.app',
    });
    expect([parsed?.app, parsed?.pushKind]).toEqual(['com.example.app', 'alert']);
  });

  it('accepts ECSS-10 pn-params, keeps it as pn-param, and FCM tokens with colons', () => {
    const parsed = parseRfc8599Params('pn-provider=fcm;pn-prid=dQw4w9WgXcQ:APA91bHun4;pn-params=ecss-softphone');
    const input: DeviceBindingInput = { ...parsed!, tenant: 't', userId: '101', sipInstance: '<urn:uuid:1>' };
    expect(input).toEqual({
      provider: 'fcm',
      app: 'ecss-softphone',
      token: 'dQw4w9WgXcQ:APA91bHun4',
      pushKind: 'data',
      environment: 'production',
      format: 'ecss',
      origin: 'sip-rfc8599',
      params: { 'pn-param': 'ecss-softphone' },
      tenant: 't',
      userId: '101',
      sipInstance: '<urn:uuid:1>',
    });
  });

  it('falls back to the configured app when ECSS pn-params is only a matching label', () => {
    const parsed = parseRfc8599Params('pn-provider=apns;pn-prid=aa;pn-params=label%3A42', {
      apnsApp: 'com.example.ecss',
      environment: 'sandbox',
    });
    expect(parsed).toEqual({
      provider: 'apns',
      app: 'com.example.ecss',
      token: 'aa',
      pushKind: 'voip',
      environment: 'sandbox',
      format: 'ecss',
      origin: 'sip-rfc8599',
      params: { 'pn-param': 'label:42' },
    });
  });

  it('takes parameter names case-insensitively and values quoted or %-escaped', () => {
    const parsed = parseRfc8599Params('PN-Provider=FCM;pn-prid="tok%3Aen";pn-param=my-project');
    expect([parsed?.provider, parsed?.token, parsed?.app]).toEqual(['fcm', 'tok:en', 'my-project']);
  });

  it('takes a numeric FCM project number as the app', () => {
    expect(parseRfc8599Params('pn-provider=fcm;pn-prid=t:k;pn-param=929724111839')?.app).toBe('929724111839');
  });

  it('returns null for a contact that asks for no push', () => {
    expect(parseRfc8599Params(';transport=tcp;ob')).toBeNull();
    expect(parseRfc8599Params({})).toBeNull();
  });

  it('answers an unsupported pn-provider with 555', () => {
    const error = catchError(() => parseRfc8599Params('pn-provider=webpush;pn-prid=x'));
    expect(error).toBeInstanceOf(Rfc8599ParamsError);
    expect(error).toBeInstanceOf(CodecError);
    expect([
      (error as Rfc8599ParamsError).problem,
      (error as Rfc8599ParamsError).sipStatus,
      (error as Rfc8599ParamsError).param,
    ]).toEqual(['unsupported_provider', 555, 'pn-provider']);
  });

  it('reads the pn-provider names an operator maps, Huawei ones as HMS bindings by app id', () => {
    const providers = { apns: 'apns', fcm: 'fcm', hms: 'hms', huawei: 'hms', 'acme-fcm': 'fcm' } as const;
    expect(parseRfc8599Params('pn-provider=HMS;pn-prid=IQAAAACy0ABC;pn-param=107000001', { providers })).toEqual({
      provider: 'hms',
      app: '107000001',
      token: 'IQAAAACy0ABC',
      pushKind: 'data',
      environment: 'production',
      format: 'ecss',
      origin: 'sip-rfc8599',
      params: { 'pn-param': '107000001' },
    });
    expect(parseRfc8599Params('pn-provider=huawei;pn-prid=t', { providers, hmsApp: '107000002' })?.app).toBe(
      '107000002',
    );
    expect(parseRfc8599Params('pn-provider=acme-fcm;pn-prid=t;pn-param=acme-project', { providers })).toMatchObject({
      provider: 'fcm',
      app: 'acme-project',
    });
    const missing = catchError(() =>
      parseRfc8599Params('pn-provider=hms;pn-prid=t', { providers }),
    ) as Rfc8599ParamsError;
    expect([missing.problem, missing.param, missing.sipStatus]).toEqual(['missing_param', 'pn-param', 400]);
    const bad = catchError(() =>
      parseRfc8599Params('pn-provider=hms;pn-prid=t;pn-param=not-digits', { providers }),
    ) as Rfc8599ParamsError;
    expect([bad.problem, bad.param]).toEqual(['invalid_param', 'pn-param']);
    // Without the mapping, hms is one more unknown service (555), and a mapping can also narrow.
    expect((catchError(() => parseRfc8599Params('pn-provider=hms;pn-prid=t')) as Rfc8599ParamsError).sipStatus).toBe(
      555,
    );
    const narrowed = catchError(() =>
      parseRfc8599Params('pn-provider=fcm;pn-prid=t;pn-param=proj-one', { providers: { apns: 'apns' } }),
    ) as Rfc8599ParamsError;
    expect(narrowed.sipStatus).toBe(555);
    expect(narrowed.message).toContain('"fcm" is not supported (apns)');
    expect(
      (catchError(() => parseRfc8599Params('pn-provider=constructor;pn-prid=t', { providers })) as Rfc8599ParamsError)
        .sipStatus,
    ).toBe(555);
  });

  it('tells a capability query (valueless pn-provider) apart from an error status', () => {
    const error = catchError(() => parseRfc8599Params(';pn-provider')) as Rfc8599ParamsError;
    expect([error.problem, error.sipStatus]).toEqual(['capability_query', undefined]);
  });

  it.each([
    ['pn-provider=apns;pn-param=ABCD1234.com.x.voip', 'missing_param', 'pn-prid'],
    ['pn-prid=abc', 'missing_param', 'pn-provider'],
    ['pn-provider=apns;pn-prid=abc', 'missing_param', 'pn-param'],
    ['pn-provider=fcm;pn-prid=abc', 'missing_param', 'pn-param'],
    ['pn-provider=fcm;pn-prid=abc;pn-param=Not A Project', 'invalid_param', 'pn-param'],
    ['pn-provider=fcm;pn-prid=abc;pn-param=proj-one;pn-params=proj-two', 'invalid_param', 'pn-params'],
    ['pn-provider=fcm;pn-prid=a;pn-prid=b;pn-param=proj-one', 'invalid_param', 'pn-prid'],
    ['pn-provider=fcm;pn-prid=a%zz;pn-param=proj-one', 'invalid_param', 'pn-prid'],
  ])('rejects %j with 400 (%s at %s)', (params, problem, param) => {
    const error = catchError(() => parseRfc8599Params(params)) as Rfc8599ParamsError;
    expect(error).toBeInstanceOf(Rfc8599ParamsError);
    expect([error.problem, error.param, error.sipStatus]).toEqual([problem, param, 400]);
  });

  it('throws nothing but CodecError on arbitrary parameter strings and maps', () => {
    const name = fc.oneof(
      fc.constantFrom('pn-provider', 'pn-prid', 'pn-param', 'pn-params', 'PN-PRID', 'transport'),
      fc.string({ maxLength: 12 }),
    );
    const value = fc.oneof(
      fc.constantFrom('apns', 'fcm', 'ABCD1234.com.x.voip', '', '%', '"'),
      fc.string({ unit: 'binary-ascii' }),
      fc.string(),
    );
    const asString = fc
      .array(fc.tuple(name, fc.option(value)), { maxLength: 6 })
      .map((pairs) => pairs.map(([n, v]) => (v === null ? n : `${n}=${v}`)).join(';'));
    const asMap = fc.dictionary(name, fc.oneof(value, fc.constant(null), fc.jsonValue()), { maxKeys: 6 });
    fc.assert(
      fc.property(fc.oneof(asString, fc.string(), asMap), (input) => {
        const error = catchError(() => parseRfc8599Params(input as never));
        return error === undefined || error instanceof CodecError;
      }),
      { numRuns: 1500 },
    );
  });
});

const binding: DeviceBinding = {
  ...parseRfc8599Params('pn-provider=apns;pn-prid=tok;pn-param=ABCDE12345.com.example.ecss.voip')!,
  id: 'b',
  tenant: 't',
  userId: '101',
  createdAt: '2021-06-01T00:00:00.000Z',
  updatedAt: '2021-06-01T00:00:00.000Z',
};
const now = Date.parse('2021-06-15T10:41:31.000Z');
const invite: CallNotification = {
  id: 'i1',
  type: 'incoming_call',
  tenant: 't',
  recipient: '101',
  call: {
    id: 'ref',
    from: { number: '103', displayName: 'Ivan' },
    video: false,
    startedAt: '2021-06-15T10:41:31.000Z',
  },
  createdAt: '2021-06-15T10:41:31.000Z',
  deadline: '2021-06-15T10:42:01.000Z',
  priority: 'high',
};

describe('ecss encode quirks', () => {
  it('emits both spellings of the name and a numeric badge when configured', () => {
    const codec = createEcssCodec({
      displayNameKeys: ['dispaly_name', 'display_name'],
      badgeAsString: false,
      badge: 3,
    });
    expect(codec.encode(invite, binding, { now })!.payload).toEqual({
      aps: { badge: 3 },
      acme: { badge: 3, type: 'invite', date: 1623753691, number: '103', dispaly_name: 'Ivan', display_name: 'Ivan' },
    });
  });

  it('sends "" for a missing name when configured', () => {
    const noName = { ...invite, call: { ...invite.call!, from: { number: '103' } } };
    const acme = createEcssCodec({ emptyDisplayName: 'empty-string' }).encode(noName, binding, { now })!.payload.acme;
    expect((acme as { dispaly_name: unknown }).dispaly_name).toBe('');
  });

  it('asks for a fresh REGISTER with a silent push, and sends none to a VoIP token', () => {
    const refresh: CallNotification = { ...invite, type: 'register_refresh', call: undefined, priority: 'normal' };
    const fcm = { ...binding, ...parseRfc8599Params('pn-provider=fcm;pn-prid=tok;pn-param=ecss-softphone')! };
    expect(ecssCodec.encode(refresh, fcm, { now })).toEqual({
      provider: 'fcm',
      token: 'tok',
      app: 'ecss-softphone',
      environment: 'production',
      pushType: 'background',
      priority: 'high',
      expiresAt: Date.parse('2021-06-15T10:42:01.000Z'),
      payload: { android: { priority: 'high' }, data: { type: 'register', date: '1623753691' } },
    });
    const alert = {
      ...binding,
      ...parseRfc8599Params('pn-provider=apns;pn-prid=tok;pn-param=ABCDE12345.com.example.ecss')!,
    };
    expect(ecssCodec.encode(refresh, alert, { now })).toEqual({
      provider: 'apns',
      token: 'tok',
      app: 'com.example.ecss',
      environment: 'production',
      pushType: 'background',
      priority: 'normal',
      expiresAt: Date.parse('2021-06-15T10:42:01.000Z'),
      headers: { 'apns-topic': 'com.example.ecss' },
      payload: { aps: { 'content-available': 1 }, acme: { type: 'register', date: 1623753691 } },
    });
    expect(ecssCodec.encode(refresh, binding, { now })).toBeNull();
  });

  it('refuses a badge that is not a count', () => {
    const error = catchError(() => ecssCodec.encode({ ...invite, vendor: { badge: 'ten' } }, binding, { now }));
    expect((error as CodecError).path).toBe('vendor.badge');
  });

  it('keeps the newest missed calls that fit in one push', () => {
    const missed = Array.from({ length: 100 }, (_, i) => ({
      callId: `c${i}`,
      from: { number: `+7913${String(i).padStart(7, '0')}` },
      at: new Date(now - (100 - i) * 60_000).toISOString(),
    }));
    const n: CallNotification = { ...invite, type: 'missed_calls', call: undefined, missed, priority: 'normal' };
    const fcm = { ...binding, ...parseRfc8599Params('pn-provider=fcm;pn-prid=tok;pn-param=ecss-softphone')! };
    const out = ecssCodec.encode(n, fcm, { now })!;
    const calls = JSON.parse((out.payload.data as { calls: string }).calls) as Array<{
      id: number;
      remote_uri: string;
    }>;
    expect(payloadSize(out)).toBeLessThanOrEqual(4096);
    expect(calls.length).toBeLessThan(100);
    expect(calls.at(-1)).toEqual({
      id: calls.length - 1,
      remote_uri: '+79130000099',
      date: Math.floor((now - 60_000) / 1000),
    });
    expect(calls[0]!.id).toBe(0);
  });

  it('fits the provider limit or refuses with a CodecError, whatever the calls', () => {
    const party = fc.record({
      number: fc.string({ minLength: 1, maxLength: 2000 }),
      displayName: fc.option(fc.string({ maxLength: 2000 }), { nil: undefined }),
    });
    const entry = fc.record({
      callId: fc.string({ minLength: 1 }),
      from: party,
      at: fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }).map((d) => d.toISOString()),
    });
    fc.assert(
      fc.property(
        fc.array(entry, { minLength: 1, maxLength: 30 }),
        party,
        fc.constantFrom('apns-alert', 'apns-voip', 'fcm'),
        (missed, from, target) => {
          const b: DeviceBinding =
            target === 'fcm'
              ? { ...binding, provider: 'fcm', app: 'ecss-softphone', pushKind: 'data' }
              : { ...binding, pushKind: target === 'apns-voip' ? 'voip' : 'alert' };
          for (const n of [
            { ...invite, call: { ...invite.call!, from } },
            { ...invite, type: 'missed_calls' as const, call: undefined, missed },
          ]) {
            let out;
            try {
              out = ecssCodec.encode(n, b, { now });
            } catch (error) {
              if (!(error instanceof CodecError)) return false;
              continue;
            }
            if (out && payloadSize(out) > payloadLimit(out)) return false;
          }
          return true;
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('web devices (pn-provider=webpush)', () => {
  const subscription = {
    endpoint: 'https://push.example.net/push/abc123',
    keys: { p256dh: `B${'A'.repeat(86)}`, auth: 'AAAAAAAAAAAAAAAAAAAAAA' },
  };
  const providers = { apns: 'apns', fcm: 'fcm', webpush: 'webpush' } as const;
  const json = JSON.stringify(subscription);

  it('reads the subscription from pn-prid, %-escaped JSON or base64url JSON, bound to the VAPID key set', () => {
    const expected = {
      provider: 'webpush',
      app: 'sip.example.com',
      token: json,
      pushKind: 'alert',
      environment: 'production',
      format: 'ecss',
      origin: 'sip-rfc8599',
      params: {},
    };
    const options = { providers, webpushApp: 'sip.example.com' };
    expect(parseRfc8599Params(`pn-provider=webpush;pn-prid=${encodeURIComponent(json)}`, options)).toEqual(expected);
    const b64 = Buffer.from(json).toString('base64url');
    expect(parseRfc8599Params(`pn-provider=webpush;pn-prid=${b64}`, options)).toEqual(expected);
  });

  it('answers 400 for a pn-prid that is no subscription and 555 without a VAPID key set', () => {
    const bad = catchError(() =>
      parseRfc8599Params('pn-provider=webpush;pn-prid=abc', { providers, webpushApp: 'a' }),
    ) as Rfc8599ParamsError;
    expect([bad.problem, bad.param, bad.sipStatus]).toEqual(['invalid_param', 'pn-prid', 400]);
    const noKey = catchError(() =>
      parseRfc8599Params(`pn-provider=webpush;pn-prid=${encodeURIComponent(json)}`, { providers }),
    ) as Rfc8599ParamsError;
    expect([noKey.problem, noKey.sipStatus]).toEqual(['unsupported_provider', 555]);
  });

  it('sends a call as core generic web payload with the ECSS data under vendor.ecss', () => {
    const web: DeviceBinding = {
      ...parseRfc8599Params(`pn-provider=webpush;pn-prid=${encodeURIComponent(json)}`, {
        providers,
        webpushApp: 'sip.example.com',
      })!,
      id: 'w',
      tenant: 't',
      userId: '101',
      createdAt: '2021-06-01T00:00:00.000Z',
      updatedAt: '2021-06-01T00:00:00.000Z',
    };
    expect(ecssCodec.encode(invite, web, { now })).toEqual({
      provider: 'webpush',
      token: json,
      app: 'sip.example.com',
      environment: 'production',
      pushType: 'alert',
      priority: 'high',
      expiresAt: Date.parse(invite.deadline),
      collapseId: 'call:ref',
      payload: {
        pushrelay: 1,
        type: 'incoming_call',
        id: 'i1',
        title: 'Incoming call',
        body: 'Ivan (103)',
        tag: 'call:ref',
        deadline: invite.deadline,
        call: invite.call,
        vendor: { ecss: { type: 'invite', date: now / 1000 } },
      },
    });
    const refresh = { ...invite, id: 'r1', type: 'register_refresh' as const };
    expect(ecssCodec.encode(refresh, web, { now })).toBeNull();
  });
});

describe('HarmonyOS NEXT devices', () => {
  it("pass the binding's params['hms-api'] to transport-hms as a header, on every push", () => {
    const hms: DeviceBinding = {
      ...binding,
      provider: 'hms',
      app: '107000001',
      pushKind: 'data',
      params: { 'hms-api': 'v3' },
    };
    expect(ecssCodec.encode(invite, hms, { now })!.headers).toEqual({ 'hms-api': 'v3' });
    const missed: CallNotification = {
      ...invite,
      id: 'm1',
      type: 'missed_calls',
      missed: [{ callId: 'ref', from: invite.call!.from, at: invite.createdAt }],
    };
    expect(ecssCodec.encode(missed, hms, { now })!.headers).toEqual({ 'hms-api': 'v3' });
    expect(ecssCodec.encode(invite, { ...hms, params: {} }, { now })!.headers).toBeUndefined();
    const bad = catchError(() => ecssCodec.encode(invite, { ...hms, params: { 'hms-api': 'v0' } }, { now }));
    expect((bad as CodecError).path).toBe('binding.params.hms-api');
  });
});
