// pushrelay's Web Push service worker: copy it into your site and register it as a module worker
// (navigator.serviceWorker.register('/service-worker.js', { type: 'module' })).
//
// It shows the call a push announces. Two payloads arrive from pushrelay:
// - the generic call payload (`pushrelay: 1`, formats wazo, kaleyra...): title, body, tag, call;
// - SignalWire's web wrapping ({notification: {body: "<JSON>"}, data: {}}, format signalwire):
//   the invite is opened with @pushrelay/codec-signalwire/client and the push key the device
//   got when it registered (kept in IndexedDB by the page, see index.html).
//
// `./signalwire-client.js` is @pushrelay/codec-signalwire/client bundled for the browser with its
// dependency (pako); any bundler makes it, e.g. `npx rolldown -f es -p browser -o signalwire-client.js
// node_modules/@pushrelay/codec-signalwire/dist/client/index.js`.
import { decodeSignalWirePush } from './signalwire-client.js';

const DB = 'pushrelay';
const STORE = 'keys';

/** The SignalWire push key the page stored at registration, or undefined. */
function readPushKey() {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(DB, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE);
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const get = open.result.transaction(STORE).objectStore(STORE).get('signalwire');
      get.onsuccess = () => resolve(get.result);
      get.onerror = () => reject(get.error);
    };
  });
}

/** Tells every open page of the site what arrived (a softphone page answers the call). */
async function tellPages(message) {
  const pages = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  for (const page of pages) page.postMessage(message);
}

async function showGeneric(push) {
  if (push.type === 'call_cancelled') {
    // The ring is over: replace the incoming call with what happened.
    for (const shown of await self.registration.getNotifications({ tag: push.tag })) shown.close();
  }
  const ringing = push.type === 'incoming_call' && Date.parse(push.deadline) > Date.now();
  await self.registration.showNotification(ringing || push.type !== 'incoming_call' ? push.title : 'Missed call', {
    body: push.body,
    tag: push.tag,
    requireInteraction: ringing,
    data: { format: 'pushrelay', push },
    ...(ringing
      ? {
          actions: [
            { action: 'answer', title: 'Answer' },
            { action: 'decline', title: 'Decline' },
          ],
        }
      : {}),
  });
  await tellPages({ type: 'pushrelay-push', push });
}

async function showSignalWire(push) {
  const { payload, invite } = await decodeSignalWirePush(push, await readPushKey());
  const callId = invite.params.params.callID;
  await self.registration.showNotification(payload.title, {
    body: payload.incoming_caller_name || payload.incoming_caller_id,
    tag: `call:${callId}`,
    requireInteraction: true,
    // The SDK's handlePushNotification({...payload, decrypted: invite}) answers it from the page.
    data: { format: 'signalwire', payload, invite },
    actions: [
      { action: 'answer', title: 'Answer' },
      { action: 'decline', title: 'Decline' },
    ],
  });
  await tellPages({ type: 'signalwire-invite', payload, invite });
}

async function onPush(event) {
  let push;
  try {
    push = event.data ? event.data.json() : undefined;
  } catch {
    push = undefined;
  }
  if (push && push.pushrelay === 1) return showGeneric(push);
  if (push && push.notification && typeof push.notification.body === 'string') return showSignalWire(push);
  // Browsers require every push to show something (userVisibleOnly).
  await self.registration.showNotification('New notification', { tag: 'pushrelay-unknown' });
  await tellPages({ type: 'unknown-push', text: event.data ? event.data.text() : '' });
}

self.addEventListener('push', (event) => {
  event.waitUntil(
    onPush(event).catch(async (error) => {
      await self.registration.showNotification('Incoming call', { tag: 'pushrelay-error' });
      await tellPages({ type: 'push-error', name: error.name, code: error.code, message: error.message });
    }),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil(
    (async () => {
      const pages = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
      const message = { type: 'call-action', action: event.action || 'open', data: event.notification.data };
      if (pages[0]) {
        pages[0].postMessage(message);
        await pages[0].focus();
      } else {
        await self.clients.openWindow('/');
      }
    })(),
  );
});

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
