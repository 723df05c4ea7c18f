/**
 * The operator console in a real headless Chromium, against the demo (the gateway on the APNs,
 * FCM and HMS simulators): sign in with the key, add an iPhone (APNs VoIP) and an Android phone
 * (FCM, SignalWire format), call their user from the console and watch both cards ring, the
 * SignalWire invite decrypted in the page with WebCrypto, and the providers' answers listed.
 * Screenshots go to test-artifacts/ at the repository root.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireService } from '@pushrelay/testkit';
import { IOS_TOKEN, startStack, type Stack } from './helpers.js';

const CHROMIUM = process.env['PUSHRELAY_CHROMIUM'] ?? '/usr/bin/chromium';
const browserService = await requireService('chromium', async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is not installed`);
});

const gatewayDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const artifacts = join(gatewayDir, '../../test-artifacts');
const OTHER_KEY = 'other-tenant-key-0123456789abcdef';

/** Presses Tab until the element matching `selector` has the focus: proves it is reachable by keyboard. */
async function tabTo(page: Page, selector: string, max = 120): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate(`document.activeElement?.matches(${JSON.stringify(selector)}) ?? false`)) return;
  }
  throw new Error(`${selector} cannot be reached with the Tab key`);
}

/** Types into the focused field, replacing what it held. */
async function retype(page: Page, text: string): Promise<void> {
  await page.keyboard.press('Control+A');
  await page.keyboard.type(text);
}

async function signIn(page: Page, url: string, key: string): Promise<void> {
  await page.goto(`${url}/console`);
  // The key field has the focus when the page opens.
  expect(await page.evaluate(`document.activeElement?.id`)).toBe('api-key');
  await page.keyboard.type(key);
  await page.keyboard.press('Enter');
}

describe.skipIf(!browserService.available)('the operator console in a real browser', () => {
  let stack: Stack;
  let browser: Browser;

  beforeAll(async () => {
    stack = await startStack({ extraTenants: [{ id: 'other', apiKey: OTHER_KEY }] });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'],
    });
    mkdirSync(artifacts, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('rings the iPhone and the Android SignalWire phone for a call sent from the console, keyboard only', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const requested: string[] = [];
    page.on('request', (r) => requested.push(r.url()));
    await signIn(page, stack.url, stack.apiKey);
    await expect.poll(() => page.textContent('#who')).toBe('tenant demo');

    // An iPhone (the default kind) for alice, by keyboard.
    await tabTo(page, '#phone-user');
    await retype(page, 'alice');
    await tabTo(page, '#phone-add');
    await page.keyboard.press('Enter');
    await page.waitForSelector('.phone[data-binding-id]');
    // Then an Android phone in the SignalWire format: the next kind in the list.
    await tabTo(page, '#phone-kind');
    await page.keyboard.press('ArrowDown');
    expect(await page.inputValue('#phone-kind')).toBe('android');
    await tabTo(page, '#phone-add');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('.phone').count()).toBe(2);

    const devices = (await stack.call('GET', '/v1/devices?userId=alice')).body.devices as {
      id: string;
      provider: string;
      format: string;
    }[];
    const ios = devices.find((d) => d.provider === 'apns')!;
    const android = devices.find((d) => d.provider === 'fcm')!;
    expect([ios.format, android.format]).toEqual(['wazo', 'signalwire']);

    // The call, from the test push form: every device of alice, from "Tester".
    await tabTo(page, '#push-device');
    expect(await page.inputValue('#push-device')).toBe('user:alice');
    await tabTo(page, '#push-call-id');
    await retype(page, 'call-console-1');
    await tabTo(page, '#push-send');
    await page.keyboard.press('Enter');

    const iosCard = page.locator(`.phone[data-binding-id="${ios.id}"]`);
    const androidCard = page.locator(`.phone[data-binding-id="${android.id}"]`);
    await expect.poll(() => iosCard.getAttribute('data-state'), { timeout: 15_000 }).toBe('ringing');
    await expect.poll(() => androidCard.getAttribute('data-state'), { timeout: 15_000 }).toBe('ringing');
    // Decrypted in the page with the device's key (WebCrypto AES-GCM), not by the server.
    await expect.poll(() => androidCard.locator('.invite-caller').textContent()).toBe('Tester (0123456789)');
    expect(await androidCard.locator('.meta').last().textContent()).toContain('callID call-console-1');
    // The card shows what the simulator took: the same push id.
    const [apnsDelivery] = stack.sims.apns.deliveries();
    const [fcmDelivery] = stack.sims.fcm.deliveries();
    expect(await iosCard.getAttribute('data-push-id')).toBe(apnsDelivery!.id);
    expect(await androidCard.getAttribute('data-push-id')).toBe(fcmDelivery!.id);
    expect(apnsDelivery!.headers['apns-push-type']).toBe('voip');

    // The attempt list: each device delivered, with the provider's own id (apns-id, FCM message name).
    const article = page.locator('.notification', { hasText: 'call call-console-1' });
    await expect.poll(() => article.getAttribute('data-status'), { timeout: 15_000 }).toBe('completed');
    const iosRow = article.locator(`tr.attempt[data-binding-id="${ios.id}"]`);
    const androidRow = article.locator(`tr.attempt[data-binding-id="${android.id}"]`);
    expect(await iosRow.locator('.answer').textContent()).toBe('delivered');
    expect(await iosRow.locator('.provider-id').textContent()).toBe(apnsDelivery!.id);
    expect(await androidRow.locator('.answer').textContent()).toBe('delivered');
    expect(await androidRow.locator('.provider-id').textContent()).toBe(fcmDelivery!.id);
    // The live result under the form came over the SSE stream.
    await expect.poll(() => page.locator('#push-attempts li[data-outcome="delivered"]').count()).toBe(2);

    // The devices view shows the last outcome and when the token was last seen valid.
    await expect
      .poll(() => page.locator(`#devices-rows tr[data-binding-id="${android.id}"] .outcome`).textContent())
      .toContain('delivered');
    // The charts drew the outcomes of both providers.
    await expect.poll(() => page.locator('.chart[data-provider]').count()).toBe(2);

    await page.screenshot({ path: join(artifacts, 'console-desktop.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(artifacts, 'console-390x844.png') });
    await page.screenshot({ path: join(artifacts, 'console-390x844-full.png'), fullPage: true });
    // Nothing wider than the phone's screen.
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);

    // Remove, by keyboard: the iPhone's row goes away and the gateway no longer has it.
    await tabTo(page, `#devices-rows tr[data-binding-id="${ios.id}"] button.remove`);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator(`#devices-rows tr[data-binding-id="${ios.id}"]`).count()).toBe(0);
    const left = (await stack.call('GET', '/v1/devices?userId=alice')).body.devices as { id: string }[];
    expect(left.map((d) => d.id)).toEqual([android.id]);

    // The key stays in the tab's session (a reload stays signed in) and never went into a URL.
    expect(await page.evaluate(`sessionStorage.getItem('pushrelay.console.key')`)).toBe(stack.apiKey);
    await page.reload();
    await expect.poll(() => page.textContent('#who')).toBe('tenant demo');
    expect(requested.filter((u) => u.includes(stack.apiKey))).toEqual([]);
    await context.close();
  }, 120_000);

  it("refuses a wrong key and never shows another tenant's devices or pushes", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await signIn(page, stack.url, 'not-the-key');
    await expect.poll(() => page.textContent('#login-error')).toBe('The API key is not valid.');
    expect(await page.isVisible('#app')).toBe(false);
    expect(await page.evaluate(`sessionStorage.getItem('pushrelay.console.key')`)).toBeNull();
    // The routes behind it refuse the key too.
    for (const path of ['/v1/console/devices?userId=bob', '/v1/console/events', '/__demo/deliveries']) {
      expect((await stack.call('GET', path, { key: 'not-the-key' })).status).toBe(401);
    }

    // The other tenant has a phone for a user of the same name, and calls it.
    const theirs = await stack.call('POST', '/v1/devices', {
      key: OTHER_KEY,
      body: { userId: 'bob', provider: 'apns', token: IOS_TOKEN, app: 'com.example.phone', format: 'wazo' },
    });
    expect(theirs.status).toBe(201);

    await page.fill('#api-key', '');
    await page.focus('#api-key');
    await page.keyboard.type(stack.apiKey);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.textContent('#who')).toBe('tenant demo');
    // Our own phone for bob.
    await page.fill('#phone-user', 'bob');
    await page.click('#phone-add');
    await expect.poll(() => page.locator('.phone').count()).toBe(1);
    const ours = (await stack.call('GET', '/v1/devices?userId=bob')).body.devices as { id: string }[];
    expect(ours).toHaveLength(1);

    const sent = await stack.call('POST', '/v1/notifications?wait=true', {
      key: OTHER_KEY,
      body: {
        id: 'other-call-1',
        type: 'incoming_call',
        recipient: 'bob',
        call: { id: 'other-call-1', from: { number: '999' } },
      },
    });
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    expect(sent.body.report.devices.map((d: { status: string }) => d.status)).toEqual(['delivered']);
    // Then one of ours: once it rang, the feed has gone past the other tenant's push.
    await page.selectOption('#push-device', `user:bob`);
    await page.fill('#push-call-id', 'our-call-1');
    await page.click('#push-send');
    await expect
      .poll(() => page.locator(`.phone[data-binding-id="${ours[0]!.id}"]`).getAttribute('data-state'), {
        timeout: 15_000,
      })
      .toBe('ringing');
    await expect.poll(() => page.locator('.notification', { hasText: 'call our-call-1' }).count()).toBe(1);

    const html = await page.content();
    expect(html).not.toContain(theirs.body.id);
    expect(html).not.toContain('other-call-1');
    expect(await page.locator('.phone').count()).toBe(1);
    const listed = await page
      .locator('#devices-rows tr')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-binding-id')));
    expect(listed).toEqual([ours[0]!.id]);
    // The JSON routes are scoped the same way.
    const api = await stack.call('GET', '/v1/console/notifications');
    expect(
      api.body.notifications.map((n: { report: { notificationId: string } }) => n.report.notificationId),
    ).not.toContain('other-call-1');
    await page.screenshot({ path: join(artifacts, 'console-tenant-isolation.png'), fullPage: true });
    await context.close();
  }, 120_000);
});
