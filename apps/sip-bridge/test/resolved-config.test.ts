import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, resolveConfig, startBridge } from '../src/index.js';
import { RecordingTransport } from './support.js';

/** What main.ts does: loadConfig resolves the file, startBridge resolves what it is given again. */
describe('a resolved config', () => {
  const edge = {
    mode: 'edge',
    edge: { upstream: 'sip:pbx.example.com:5070;transport=tcp', outboundProxy: 'sip:192.0.2.7;transport=udp' },
    listen: { host: '127.0.0.1', port: 0 },
  };
  const registrar = {
    domain: 'sip.example.com',
    users: [{ username: 'alice', password: 'pw' }],
    trunk: { uri: 'sip:192.0.2.10:5080', sources: ['192.0.2.10', '192.0.2.11:5090', '[2001:db8::1]:5060'] },
    tls: { port: 5061, certFile: '/etc/pushrelay/cert.pem', keyFile: '/etc/pushrelay/key.pem' },
  };

  it('resolves to itself, in edge mode and in registrar mode with trunk sources', () => {
    for (const input of [edge, registrar]) {
      const once = resolveConfig(input);
      expect(resolveConfig(once)).toEqual(once);
    }
    expect(resolveConfig(resolveConfig(edge)).edge!.upstream).toEqual({
      uri: 'sip:pbx.example.com:5070;transport=tcp',
      host: 'pbx.example.com',
      port: 5070,
      transport: 'tcp',
    });
  });

  it('starts an edge-mode bridge from a config file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sip-bridge-resolved-'));
    const file = join(dir, 'bridge.json');
    writeFileSync(
      file,
      JSON.stringify({
        ...edge,
        edge: { upstream: 'sip:127.0.0.1:9;transport=udp' },
        metrics: null,
        log: { level: 'silent' },
      }),
    );
    const bridge = await startBridge({
      config: await loadConfig(file, {}),
      transports: { apns: new RecordingTransport('apns'), fcm: new RecordingTransport('fcm') },
    });
    try {
      expect([bridge.config.mode, bridge.config.edge!.upstream.port, bridge.sip.port > 0]).toEqual(['edge', 9, true]);
    } finally {
      await bridge.stop();
    }
  });
});
