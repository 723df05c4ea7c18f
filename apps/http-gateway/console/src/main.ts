import { Api, ApiError, keepStreaming } from './api.js';
import { latencyTable, outcomesChart, queueSparkline } from './charts.js';
import { byId, h, time } from './dom.js';
import { Phones, type DemoInfo } from './phones.js';
import type { ConsoleEvent, Device, DeviceSeen, Report, Stats } from './types.js';

// sessionStorage: the key lives as long as this tab, never in a URL, a cookie or localStorage.
const KEY_STORAGE = 'pushrelay.console.key';
const TYPES = ['incoming_call', 'call_cancelled', 'missed_calls', 'voicemail', 'message', 'custom', 'register_refresh'];
const OUTCOMES = [
  'delivered',
  'retrying',
  'pending',
  'invalid-token',
  'rejected',
  'auth-failed',
  'expired',
  'skipped',
  'in-progress',
  'completed',
  'suppressed',
];

let session: { api: Api; stop: AbortController } | undefined;

function randomId(): string {
  return crypto.randomUUID();
}

async function signIn(key: string): Promise<void> {
  const error = byId('login-error');
  error.textContent = '';
  const api = new Api(key);
  let tenant: string;
  try {
    ({ tenant } = await api.call<{ tenant: string }>('GET', '/v1/console/session'));
  } catch (e) {
    sessionStorage.removeItem(KEY_STORAGE);
    error.textContent =
      e instanceof ApiError && e.status === 401
        ? 'The API key is not valid.'
        : `Cannot sign in: ${(e as Error).message}`;
    byId<HTMLInputElement>('api-key').focus();
    return;
  }
  sessionStorage.setItem(KEY_STORAGE, key);
  byId<HTMLInputElement>('api-key').value = '';
  const stop = new AbortController();
  session = { api, stop };
  byId('who').textContent = `tenant ${tenant}`;
  byId('sign-out').hidden = false;
  byId('login').hidden = true;
  const root = byId('app');
  root.hidden = false;
  await mountConsole(api, root, stop.signal);
}

function signOut(): void {
  sessionStorage.removeItem(KEY_STORAGE);
  session?.stop.abort();
  session = undefined;
  byId('app').replaceChildren();
  byId('app').hidden = true;
  byId('login').hidden = false;
  byId('who').textContent = '';
  byId('live').hidden = true;
  byId('sign-out').hidden = true;
  byId<HTMLInputElement>('api-key').focus();
}

async function mountConsole(api: Api, root: HTMLElement, signal: AbortSignal): Promise<void> {
  const known = new Map<string, Device>();
  const watching = new Map<string, (event: ConsoleEvent) => void>();

  // --- devices ---
  const devicesUser = h('input', {
    id: 'devices-user',
    name: 'userId',
    required: true,
    maxlength: 200,
    placeholder: 'alice',
  });
  const devicesBody = h('tbody', { id: 'devices-rows' });
  const devicesStatus = h('p', { class: 'status', role: 'status', id: 'devices-status' });
  const devicesForm = h(
    'form',
    { id: 'devices-form', class: 'row' },
    h('label', { for: 'devices-user' }, 'User id'),
    devicesUser,
    h('button', { type: 'submit' }, 'Show devices'),
  );
  let shownUser = '';
  const loadDevices = async (userId: string) => {
    shownUser = userId;
    try {
      const { devices } = await api.call<{ devices: { device: Device; lastOutcome: DeviceSeen | null }[] }>(
        'GET',
        `/v1/console/devices?userId=${encodeURIComponent(userId)}`,
      );
      devicesBody.replaceChildren(...devices.map(({ device, lastOutcome }) => deviceRow(device, lastOutcome)));
      for (const { device } of devices) remember(device);
      devicesStatus.textContent = `${devices.length} device${devices.length === 1 ? '' : 's'} of ${userId}`;
    } catch (e) {
      devicesStatus.textContent = `Cannot list devices: ${(e as Error).message}`;
    }
  };
  const deviceRow = (d: Device, seen: DeviceSeen | null) =>
    h(
      'tr',
      { 'data-binding-id': d.id },
      h('td', { 'data-label': 'Provider' }, d.provider),
      h('td', { 'data-label': 'App' }, d.app),
      h('td', { 'data-label': 'Format' }, d.format),
      h('td', { 'data-label': 'Environment' }, d.environment),
      h('td', { 'data-label': 'Kind' }, d.pushKind),
      h(
        'td',
        { 'data-label': 'Last outcome', class: 'outcome' },
        seen ? `${seen.status}${seen.detail ? ` (${seen.detail})` : ''} ${time(seen.at)}` : '—',
      ),
      h(
        'td',
        { 'data-label': 'Token last seen valid' },
        time(seen?.lastDeliveredAt),
        h('br'),
        h('small', { class: 'muted' }, `registered ${time(d.updatedAt)}`),
      ),
      h(
        'td',
        { 'data-label': 'Actions' },
        h(
          'button',
          {
            type: 'button',
            class: 'test',
            'aria-label': `Test push to ${d.provider} device ${d.id.slice(0, 8)}`,
            onclick: () => chooseDevice(d.id),
          },
          'Test push',
        ),
        ' ',
        h(
          'button',
          {
            type: 'button',
            class: 'remove danger',
            'aria-label': `Remove ${d.provider} device ${d.id.slice(0, 8)}`,
            onclick: () => void removeDevice(d),
          },
          'Remove',
        ),
      ),
    );
  const removeDevice = async (d: Device) => {
    try {
      await api.call('DELETE', `/v1/devices/${encodeURIComponent(d.id)}`);
      known.delete(d.id);
      phones?.forget(d.id);
      refreshDeviceChoice();
      devicesStatus.textContent = `Removed the ${d.provider} device ${d.id.slice(0, 8)}`;
      await loadDevices(shownUser);
      devicesUser.focus();
    } catch (e) {
      devicesStatus.textContent = `Cannot remove: ${(e as Error).message}`;
    }
  };
  devicesForm.addEventListener('submit', (e) => {
    e.preventDefault();
    void loadDevices(devicesUser.value.trim());
  });
  const devicesSection = h(
    'section',
    { class: 'card', id: 'devices', 'aria-labelledby': 'devices-title' },
    h('h2', { id: 'devices-title' }, 'Devices'),
    devicesForm,
    devicesStatus,
    h(
      'table',
      { class: 'responsive' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Provider', 'App', 'Format', 'Environment', 'Kind', 'Last outcome', 'Token last seen valid', 'Actions'].map(
            (t) => h('th', { scope: 'col' }, t),
          ),
        ),
      ),
      devicesBody,
    ),
  );

  // --- test push ---
  const pushDevice = h('select', { id: 'push-device', name: 'bindingId', required: true });
  const pushType = h(
    'select',
    { id: 'push-type', name: 'type' },
    TYPES.map((t) => h('option', { value: t }, t)),
  );
  const field = (id: string, label: string, attrs: Record<string, string | number | boolean> = {}) => {
    const input = h('input', { id, name: id, ...attrs });
    return { input, nodes: [h('label', { for: id }, label), input] };
  };
  const callId = field('push-call-id', 'Call id', { value: randomId(), maxlength: 200 });
  const fromNumber = field('push-from-number', 'From number', { value: '0123456789', maxlength: 200 });
  const fromName = field('push-from-name', 'From name', { value: 'Tester', maxlength: 200 });
  const title = field('push-title', 'Message title', { maxlength: 200 });
  const body = field('push-body', 'Message body', { maxlength: 1000 });
  const video = h('input', { id: 'push-video', type: 'checkbox' });
  const pushResult = h('div', { id: 'push-result', class: 'status', role: 'status', 'aria-live': 'polite' });
  const pushForm = h(
    'form',
    { id: 'push-form', class: 'grid-form' },
    h('label', { for: 'push-device' }, 'Device'),
    pushDevice,
    h('label', { for: 'push-type' }, 'Type'),
    pushType,
    callId.nodes,
    fromNumber.nodes,
    fromName.nodes,
    h('label', { for: 'push-video' }, 'Video'),
    video,
    title.nodes,
    body.nodes,
    h('button', { type: 'submit', id: 'push-send' }, 'Send test push'),
  );
  const refreshDeviceChoice = () => {
    const current = pushDevice.value;
    const users = [...new Set([...known.values()].map((d) => d.userId))];
    pushDevice.replaceChildren(
      ...users.map((u) =>
        h('option', { value: `user:${u}`, selected: `user:${u}` === current }, `all devices of ${u}`),
      ),
      ...[...known.values()].map((d) =>
        h(
          'option',
          { value: d.id, selected: d.id === current },
          `${d.userId} · ${d.provider} · ${d.format} · ${d.id.slice(0, 8)}`,
        ),
      ),
    );
  };
  const remember = (d: Device) => {
    known.set(d.id, d);
    refreshDeviceChoice();
  };
  const chooseDevice = (id: string) => {
    pushDevice.value = id;
    pushDevice.focus();
  };
  pushForm.addEventListener('submit', (e) => {
    e.preventDefault();
    void sendTestPush();
  });
  const sendTestPush = async () => {
    const choice = pushDevice.value;
    const recipient = choice.startsWith('user:') ? choice.slice(5) : undefined;
    const targets = recipient
      ? [...known.values()].filter((d) => d.userId === recipient)
      : [known.get(choice)].filter((d) => d !== undefined);
    const device = targets[0];
    if (!device) {
      pushResult.textContent = 'Choose a device first (list a user’s devices or add a demo phone).';
      return;
    }
    const type = pushType.value;
    const call = callId.input.value.trim() || randomId();
    const from = { number: fromNumber.input.value.trim(), displayName: fromName.input.value.trim() };
    const notification: Record<string, unknown> = { id: randomId(), type };
    if (type === 'incoming_call' || type === 'call_cancelled') {
      notification.call = { id: call, from, video: video.checked };
    }
    if (type === 'missed_calls') notification.missed = [{ callId: call, from, at: new Date().toISOString() }];
    if (type === 'message' || title.input.value || body.input.value) {
      notification.message = { title: title.input.value, body: body.input.value };
    }
    if (type === 'custom') notification.customType = 'console-test';
    // A SignalWire app answers the call with the verto invite: the console sends a sample one.
    if (type === 'incoming_call' && targets.some((d) => d.format === 'signalwire')) {
      notification.vendor = { invite: sampleInvite(call, from, device.userId) };
    }
    const target = recipient ? `every device of ${recipient}` : `${device.provider} device ${device.id.slice(0, 8)}`;
    pushResult.replaceChildren(h('p', {}, `Sending ${type} to ${target}…`));
    const outcome = h('ul', { class: 'attempts', id: 'push-attempts' });
    pushResult.append(outcome);
    try {
      const sent = recipient
        ? await api.call<{ id: string; status: string }>('POST', '/v1/notifications', { ...notification, recipient })
        : await api.call<{ id: string; status: string }>('POST', '/v1/console/test-push', {
            bindingId: device.id,
            notification,
          });
      pushResult.firstChild!.textContent = `Queued ${sent.id} (${sent.status})`;
      watching.set(sent.id, (event) => {
        if (event.kind === 'suppressed') outcome.append(h('li', {}, `not pushed: ${event.reason}`));
        if (event.kind === 'attempt' || event.kind === 'device') {
          outcome.append(
            h(
              'li',
              { 'data-outcome': event.outcome ?? event.status ?? '' },
              `${event.provider ?? ''} ${event.outcome ?? event.status}${event.reason ? `: ${event.reason}` : ''}${event.providerId ? ` · id ${event.providerId}` : ''}${event.latencyMs !== undefined ? ` · ${event.latencyMs} ms` : ''}`,
            ),
          );
        }
        if (event.kind === 'completed') {
          outcome.append(h('li', { class: 'done' }, `report ${event.status}`));
          watching.delete(sent.id);
        }
      });
      callId.input.value = randomId();
    } catch (e) {
      pushResult.replaceChildren(h('p', { class: 'error' }, `Refused: ${(e as Error).message}`));
    }
  };
  const pushSection = h(
    'section',
    { class: 'card', id: 'test-push', 'aria-labelledby': 'push-title' },
    h('h2', { id: 'push-title' }, 'Send a test push'),
    pushForm,
    pushResult,
  );

  // --- notifications ---
  const fUser = h('input', { id: 'filter-user', name: 'userId', maxlength: 200 });
  const fCall = h('input', { id: 'filter-call', name: 'callId', maxlength: 200 });
  const fOutcome = h(
    'select',
    { id: 'filter-outcome', name: 'outcome' },
    h('option', { value: '' }, 'any'),
    OUTCOMES.map((o) => h('option', { value: o }, o)),
  );
  const list = h('div', { id: 'notifications-list' });
  const filterForm = h(
    'form',
    { id: 'filter-form', class: 'row' },
    h('label', { for: 'filter-user' }, 'User'),
    fUser,
    h('label', { for: 'filter-call' }, 'Call id'),
    fCall,
    h('label', { for: 'filter-outcome' }, 'Outcome'),
    fOutcome,
    h('button', { type: 'submit' }, 'Filter'),
  );
  const loadNotifications = async () => {
    const q = new URLSearchParams();
    if (fUser.value.trim()) q.set('userId', fUser.value.trim());
    if (fCall.value.trim()) q.set('callId', fCall.value.trim());
    if (fOutcome.value) q.set('outcome', fOutcome.value);
    try {
      const { notifications } = await api.call<{ notifications: { callId?: string; report: Report }[] }>(
        'GET',
        `/v1/console/notifications?${q}`,
      );
      list.replaceChildren(
        ...(notifications.length
          ? notifications.map((n) => notificationView(n.report, n.callId, known))
          : [h('p', { class: 'muted' }, 'No notifications yet.')]),
      );
    } catch (e) {
      list.replaceChildren(h('p', { class: 'error' }, `Cannot list notifications: ${(e as Error).message}`));
    }
  };
  filterForm.addEventListener('submit', (e) => {
    e.preventDefault();
    void loadNotifications();
  });
  const notificationsSection = h(
    'section',
    { class: 'card', id: 'notifications', 'aria-labelledby': 'notifications-title' },
    h('h2', { id: 'notifications-title' }, 'Recent notifications'),
    filterForm,
    list,
  );

  // --- charts ---
  const chartsBox = h('div', { id: 'charts-box' });
  const depthHistory: number[] = [];
  const loadStats = async () => {
    try {
      const stats = await api.call<Stats>('GET', '/v1/console/stats');
      if (stats.queueDepth !== null) depthHistory.push(stats.queueDepth);
      if (depthHistory.length > 60) depthHistory.shift();
      chartsBox.replaceChildren(
        h('h3', {}, `Outcomes per provider, last ${stats.windowMinutes} minutes`),
        outcomesChart(stats, Date.now()),
        latencyTable(stats),
        h('h3', {}, 'Queue depth'),
        queueSparkline(depthHistory),
      );
    } catch {
      // The next poll tries again.
    }
  };
  const chartsSection = h(
    'section',
    { class: 'card', id: 'charts', 'aria-labelledby': 'charts-title' },
    h('h2', { id: 'charts-title' }, 'Figures'),
    h(
      'p',
      { class: 'hint' },
      'This tenant’s pushes since the console was first opened on this gateway; queue depth as /metrics reports it.',
    ),
    chartsBox,
  );

  // --- demo phones ---
  let phones: Phones | undefined;
  const demo = await fetch('/__demo/info', { cache: 'no-store' })
    .then((r) => (r.ok ? (r.json() as Promise<DemoInfo>) : undefined))
    .catch(() => undefined);
  if (demo) {
    phones = new Phones(api, demo, (d) => {
      remember(d);
      if (!shownUser || shownUser === d.userId) {
        devicesUser.value = d.userId;
        void loadDevices(d.userId);
      }
    });
  }

  root.replaceChildren(
    ...[phones?.section, pushSection, devicesSection, notificationsSection, chartsSection].filter(
      (s): s is HTMLElement => Boolean(s),
    ),
  );
  phones?.start(signal);

  // --- live updates ---
  let pending: ReturnType<typeof setTimeout> | undefined;
  const refreshSoon = () => {
    clearTimeout(pending);
    pending = setTimeout(() => {
      void loadNotifications();
      void loadStats();
      if (shownUser) void loadDevices(shownUser);
    }, 250);
  };
  keepStreaming(
    api,
    '/v1/console/events',
    (_name, data) => {
      const event = data as ConsoleEvent;
      watching.get(event.notificationId)?.(event);
      refreshSoon();
    },
    signal,
    (open) => {
      byId('live').hidden = !open;
    },
  );
  const poll = setInterval(() => void loadStats(), 5000);
  signal.addEventListener('abort', () => clearInterval(poll));
  await Promise.all([loadNotifications(), loadStats()]);
}

function notificationView(report: Report, callId: string | undefined, known: Map<string, Device>): HTMLElement {
  const rows = report.devices.flatMap((d) => {
    const device = known.get(d.bindingId);
    const name = `${d.provider} · ${d.format}${device ? ` · ${device.userId}` : ''} · ${d.bindingId.slice(0, 8)}`;
    const retries = Math.max(0, d.attempts.length - 1);
    if (d.attempts.length === 0) {
      return [
        h(
          'tr',
          { 'data-binding-id': d.bindingId, 'data-status': d.status },
          h('td', { 'data-label': 'Device' }, name),
          h('td', { 'data-label': 'Status' }, d.status),
          h('td', { 'data-label': 'Answer', colspan: 4 }, d.detail ?? '—'),
        ),
      ];
    }
    return d.attempts.map((a) =>
      h(
        'tr',
        { 'data-binding-id': d.bindingId, 'data-status': d.status, class: 'attempt' },
        h('td', { 'data-label': 'Device' }, name),
        h(
          'td',
          { 'data-label': 'Status' },
          `${d.status} (attempt ${a.attempt}, ${retries} ${retries === 1 ? 'retry' : 'retries'})`,
        ),
        h(
          'td',
          { 'data-label': 'Answer', class: 'answer' },
          a.outcome.kind,
          a.outcome.reason ? `: ${a.outcome.reason}` : '',
        ),
        h(
          'td',
          { 'data-label': d.provider === 'apns' ? 'apns-id' : 'Message name', class: 'provider-id' },
          a.outcome.providerId ?? '—',
        ),
        h('td', { 'data-label': 'Latency' }, `${a.latencyMs} ms`),
        h('td', { 'data-label': 'At' }, time(a.at)),
      ),
    );
  });
  return h(
    'article',
    { class: 'notification', 'data-notification-id': report.notificationId, 'data-status': report.status },
    h(
      'header',
      {},
      h('strong', {}, report.type),
      ` to ${report.recipient} · ${report.status}${report.suppressedReason ? ` (${report.suppressedReason})` : ''}`,
      h('br'),
      h(
        'small',
        { class: 'muted' },
        `id ${report.notificationId}${callId ? ` · call ${callId}` : ''} · accepted ${time(report.acceptedAt)} · expires ${time(report.deadline)}`,
      ),
    ),
    rows.length
      ? h(
          'table',
          { class: 'responsive' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Device', 'Status', 'Provider answer', 'apns-id / message name', 'Latency', 'At'].map((t) =>
                h('th', { scope: 'col' }, t),
              ),
            ),
          ),
          h('tbody', {}, rows),
        )
      : null,
  );
}

function sampleInvite(callId: string, from: { number: string; displayName: string }, callee: string) {
  return {
    node_id: `${crypto.randomUUID()}@puc`,
    params: {
      jsonrpc: '2.0',
      id: crypto.randomUUID(),
      method: 'verto.invite',
      params: {
        callID: callId,
        sdp: 'v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 40000 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n',
        caller_id_name: from.displayName || from.number,
        caller_id_number: from.number,
        callee_id_name: callee,
        callee_id_number: `/public/${callee}`,
        display_direction: 'inbound',
      },
    },
  };
}

byId('login-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const key = byId<HTMLInputElement>('api-key').value.trim();
  if (key) void signIn(key);
});
byId('sign-out').addEventListener('click', signOut);
const saved = sessionStorage.getItem(KEY_STORAGE);
if (saved) void signIn(saved);
else byId<HTMLInputElement>('api-key').focus();
