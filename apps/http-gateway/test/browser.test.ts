/**
 * The browser half of Web Push, in a real headless Chromium: a localhost page registers the
 * example service worker (examples/web-push-worker), and the test hands that worker, through
 * the DevTools protocol's ServiceWorker.deliverPushMessage, exactly the plaintext the Web Push
 * simulator decrypted (RFC 8291) from a real send through the gateway. Chromium's own push
 * service cannot be reached offline, so the network half (VAPID, encryption, the push service's
 * answers) is proven by the simulator, and this proves what the browser does with the result.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type CDPSession, type Page } from 'playwright-core';
import { build } from 'rolldown';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireService } from '@pushrelay/testkit';
import { startStack, type Stack } from './helpers.js';
import { vertoInvite } from './fixtures/verto-invite.js';

const CHROMIUM = process.env['PUSHRELAY_CHROMIUM'] ?? '/usr/bin/chromium';
const browser = await requireService('chromium', async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is not installed`);
});

const exampleDir = join(dirname(fileURLToPath(import.meta.url)), '../../../examples/web-push-worker');
const signalWireDir = dirname(createRequire(import.meta.url).resolve('@pushrelay/codec-signalwire/package.json'));

const invite = vertoInvite('Frank');

/** What the example page and the browser expose to `page.evaluate` (the test has no DOM types). */
interface PageGlobals {
  workerReady: Promise<string>;
  received: unknown[];
  savePushKey(key: string): Promise<void>;
  navigator: { serviceWorker: { ready: Promise<{ getNotifications(): Promise<Shown[]> }> } };
}

interface Shown {
  title: string;
  body: string;
  tag: string;
  requireInteraction: boolean;
  data: unknown;
}

describe.skipIf(!browser.available)('a real browser shows the call the simulator decrypted', () => {
  let stack: Stack;
  let site: Server;
  let origin: string;
  let userDataDir: string;
  let context: BrowserContext;
  let page: Page;
  let cdp: CDPSession;
  let registrationId: string;

  beforeAll(async () => {
    stack = await startStack();
    // The example worker imports the SignalWire client as one browser ES module (pako inside).
    const bundle = await build({
      input: join(signalWireDir, 'src/client/index.ts'),
      write: false,
      platform: 'browser',
      output: { format: 'es' },
    });
    const files: Record<string, [string, string]> = {
      '/': ['text/html', readFileSync(join(exampleDir, 'index.html'), 'utf8')],
      '/service-worker.js': ['text/javascript', readFileSync(join(exampleDir, 'service-worker.js'), 'utf8')],
      '/signalwire-client.js': ['text/javascript', bundle.output[0].code],
    };
    site = createServer((req, res) => {
      const file = files[(req.url ?? '/').split('?')[0]!];
      if (!file) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': file[0] }).end(file[1]);
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    // localhost is a secure context: service workers and notifications are allowed on it.
    origin = `http://localhost:${(site.address() as AddressInfo).port}`;

    userDataDir = mkdtempSync(join(tmpdir(), 'pushrelay-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    await context.grantPermissions(['notifications'], { origin });
    page = context.pages()[0] ?? (await context.newPage());
    cdp = await context.newCDPSession(page);
    const registered = new Promise<string>((resolve) => {
      cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations }) => {
        const mine = registrations.find((r) => r.scopeURL === `${origin}/` && !r.isDeleted);
        if (mine) resolve(mine.registrationId);
      });
    });
    await cdp.send('ServiceWorker.enable');
    await page.goto(`${origin}/`);
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).workerReady)).toBe(`${origin}/`);
    registrationId = await registered;
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await new Promise<void>((resolve) => (site ? site.close(() => resolve()) : resolve()));
    await stack?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  /** Sends a notification through the gateway; returns the plaintext the simulator decrypted. */
  async function sendThroughPushrelay(token: string, notification: Record<string, unknown>): Promise<string> {
    const sent = await stack.call('POST', '/v1/notifications?wait=true', { body: notification });
    expect(sent.body.report.devices.map((d: { status: string }) => d.status)).toEqual(['delivered']);
    const received = stack.sims.webpush.received(token);
    expect(received).toHaveLength(1);
    return received[0]!.text;
  }

  /** Delivers the plaintext to the worker as the browser's push service would, and waits for what it did. */
  async function deliverToWorker(text: string, count: number) {
    await cdp.send('ServiceWorker.deliverPushMessage', { origin, registrationId, data: text });
    await page.waitForFunction((n) => (globalThis as unknown as PageGlobals).received.length >= n, count);
    const messages = await page.evaluate(() => (globalThis as unknown as PageGlobals).received);
    const shown = await page.evaluate(async () => {
      const registration = await (globalThis as unknown as PageGlobals).navigator.serviceWorker.ready;
      return (await registration.getNotifications()).map((n) => ({
        title: n.title,
        body: n.body,
        tag: n.tag,
        requireInteraction: n.requireInteraction,
        data: n.data as unknown,
      }));
    });
    return { message: messages[count - 1], shown: shown as Shown[] };
  }

  it('SignalWire: the worker opens the invite with @pushrelay/codec-signalwire/client and shows the call', async () => {
    const sub = stack.sims.webpush.subscribe({ applicationServerKey: stack.sims.vapidPublicKey });
    const device = await stack.call('POST', '/v1/devices', {
      body: {
        userId: 'frank',
        provider: 'webpush',
        app: 'web.example.com',
        format: 'signalwire',
        pushKind: 'alert',
        subscription: sub.subscription,
      },
    });
    expect(device.status).toBe(201);
    // What the page does with the registration's answer: keep the push key for the worker.
    await page.evaluate(
      (key) => (globalThis as unknown as PageGlobals).savePushKey(key),
      device.body.pushKey as string,
    );

    const text = await sendThroughPushrelay(sub.token, {
      id: '982cf533-7b1b-4cf6-a6e0-004aab68c503',
      type: 'incoming_call',
      recipient: 'frank',
      call: { id: invite.params.params.callID, from: { number: '0123456789', displayName: 'Tester' } },
      vendor: { invite },
    });
    const { message, shown } = await deliverToWorker(text, 1);
    const payload = JSON.parse((JSON.parse(text) as { notification: { body: string } }).notification.body) as unknown;
    expect(message).toEqual({ type: 'signalwire-invite', payload, invite });
    expect(shown).toEqual([
      {
        title: 'Incoming Call',
        body: 'Tester',
        tag: `call:${invite.params.params.callID}`,
        requireInteraction: true,
        data: { format: 'signalwire', payload, invite },
      },
    ]);
  }, 60_000);

  it('the generic call payload (Wazo format): the worker shows who calls', async () => {
    const sub = stack.sims.webpush.subscribe({ applicationServerKey: stack.sims.vapidPublicKey });
    const device = await stack.call('POST', '/v1/devices', {
      body: {
        userId: 'gina',
        provider: 'webpush',
        app: 'web.example.com',
        format: 'wazo',
        pushKind: 'alert',
        subscription: sub.subscription,
      },
    });
    expect(device.status).toBe(201);
    const text = await sendThroughPushrelay(sub.token, {
      id: 'wazo-call-1',
      type: 'incoming_call',
      recipient: 'gina',
      call: { id: '1560784195.313', from: { number: '8001', displayName: 'Alice' } },
    });
    const push = JSON.parse(text) as { title: string; body: string; tag: string };
    expect([push.title, push.body, push.tag]).toEqual(['Incoming call', 'Alice (8001)', 'call:1560784195.313']);
    const { message, shown } = await deliverToWorker(text, 2);
    expect(message).toEqual({ type: 'pushrelay-push', push });
    expect(shown.find((n) => n.tag === 'call:1560784195.313')).toEqual({
      title: 'Incoming call',
      body: 'Alice (8001)',
      tag: 'call:1560784195.313',
      requireInteraction: true,
      data: { format: 'pushrelay', push },
    });
  }, 60_000);
});
