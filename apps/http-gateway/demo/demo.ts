import { randomBytes } from 'node:crypto';
import {
  startApnsSimulator,
  startFcmSimulator,
  startHmsSimulator,
  startWebPushSimulator,
  type ApnsSimulatorHandle,
  type FcmSimulator,
  type HmsSimulator,
  type WebPushSimulator,
} from '@pushrelay/simulators';
import { generateVapidKeys } from '@pushrelay/transport-webpush';
// The demo runs the gateway through its public entry, as an embedder would.
// eslint-disable-next-line @nx/enforce-module-boundaries
import {
  createGateway,
  parseConfig,
  sha256Hex,
  type Gateway,
  type GatewayConfig,
  type GatewayOptions,
} from '@pushrelay/http-gateway';
import { demoPhoneRoutes } from './phones.js';

export const DEMO_APPS = {
  ios: 'com.example.phone',
  fcmProject: 'demo-project',
  hmsApp: '10000001',
  /** The VAPID key set web devices subscribe with. */
  web: 'web.example.com',
} as const;

export interface SimulatedProviders {
  apns: ApnsSimulatorHandle;
  fcm: FcmSimulator;
  hms: HmsSimulator;
  webpush: WebPushSimulator;
  /** The VAPID public key pages subscribe with (`subscribe({applicationServerKey})`). */
  vapidPublicKey: string;
  /** The `providers` block that points the transports at the simulators. */
  providers: GatewayConfig['providers'];
  close(): Promise<void>;
}

/** Starts the APNs, FCM, HMS and Web Push simulators of @pushrelay/simulators on 127.0.0.1 with demo apps. */
export async function startSimulatedProviders(): Promise<SimulatedProviders> {
  const apns = await startApnsSimulator({
    apps: [{ bundleId: DEMO_APPS.ios }, { bundleId: 'org.wazo-platform' }],
  });
  const fcm = await startFcmSimulator();
  const hms = await startHmsSimulator();
  const webpush = await startWebPushSimulator();
  const vapid = generateVapidKeys();
  const serviceAccount = fcm.createServiceAccount(DEMO_APPS.fcmProject);
  const hmsApp = hms.registerApp(DEMO_APPS.hmsApp);
  const providers: GatewayConfig['providers'] = {
    apns: {
      apps: [
        { bundleId: DEMO_APPS.ios, credential: { type: 'token', ...apns.signingKey } },
        { bundleId: 'org.wazo-platform', credential: { type: 'token', ...apns.signingKey } },
      ],
      address: apns.host,
      port: { production: apns.productionPort, sandbox: apns.sandboxPort },
      ca: apns.ca,
    },
    fcm: { credentials: [{ serviceAccount }], baseUrl: fcm.baseUrl, ca: fcm.ca },
    hms: {
      credentials: [{ appId: hmsApp.appId, clientSecret: hmsApp.clientSecret }],
      baseUrl: hms.baseUrl,
      tokenUrl: hms.tokenUrl,
      ca: hms.ca,
    },
    webpush: {
      vapid: [{ app: DEMO_APPS.web, subject: 'mailto:demo@example.com', ...vapid }],
      ca: webpush.ca,
      // The simulator is a push service on this machine: only a demo may push to localhost.
      allowInsecureEndpoints: true,
    },
  };
  return {
    apns,
    fcm,
    hms,
    webpush,
    vapidPublicKey: vapid.publicKey,
    providers,
    close: async () => {
      await Promise.allSettled([apns.close(), fcm.close(), hms.close(), webpush.close()]);
    },
  };
}

export interface DemoOptions extends GatewayOptions {
  host?: string;
  port?: number;
  /** SQLite file; default an in-memory store. */
  sqlitePath?: string;
  apiKey?: string;
  /** Extra tenants (tests use a second one to prove isolation). */
  extraTenants?: {
    id: string;
    apiKey: string;
    kaleyraSecret?: string;
    proxyJwtSecret?: string;
    limits?: { maxDevicesPerTenant: number };
  }[];
  kaleyraSecret?: string;
  /** The demo tenant's webhook secrets by codec id (`kaleyraSecret` is the `kaleyra` one). */
  webhookSecrets?: Record<string, string>;
  proxyJwtSecret?: string;
  /** The `admission` section of the configuration; the gateway's defaults otherwise. */
  admission?: Record<string, number>;
  /** The top-level `rateLimit` of the configuration (every tenant's). */
  rateLimit?: { notificationsPerSecond: number; burst: number };
  /** The top-level `limits` of the configuration (every tenant's). */
  limits?: { maxDevicesPerTenant: number };
  /** The `ephemeral` section: Redis shares presence (and the rest) with other gateways on it. */
  ephemeral?: { engine: 'redis'; redis: string; prefix: string };
  ringTimeoutMs?: number;
  bodyLimitBytes?: number;
}

export interface Demo {
  gateway: Gateway;
  sims: SimulatedProviders;
  url: string;
  apiKey: string;
  tenant: string;
  close(): Promise<void>;
}

/** The gateway wired to the simulators, with a demo tenant: what `npm start` runs offline. */
export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const sims = await startSimulatedProviders();
  const apiKey = options.apiKey ?? `demo-${randomBytes(16).toString('hex')}`;
  const env: Record<string, string> = {};
  const envName = (prefix: string, id: string) => `${prefix}_${id.toUpperCase().replace(/\W/g, '_')}`;
  const tenant = (
    id: string,
    key: string,
    kaleyra?: string,
    jwt?: string,
    secrets: Record<string, string> = {},
    limits?: { maxDevicesPerTenant: number },
  ) => {
    const webhookSecrets: Record<string, { env: string }> = {};
    for (const [codec, secret] of Object.entries(kaleyra ? { ...secrets, kaleyra } : secrets)) {
      const name = envName(`${codec.toUpperCase()}_SECRET`, id);
      env[name] = secret;
      webhookSecrets[codec] = { env: name };
    }
    if (jwt) env[envName('PROXY_JWT', id)] = jwt;
    return {
      id,
      apiKeySha256: [sha256Hex(key)],
      ...(Object.keys(webhookSecrets).length > 0 ? { webhookSecrets } : {}),
      ...(jwt ? { proxyJwtSecret: { env: envName('PROXY_JWT', id) } } : {}),
      ...(limits ? { limits } : {}),
    };
  };
  try {
    const config = parseConfig(
      {
        listen: { host: options.host ?? '127.0.0.1', port: options.port ?? 0 },
        store: options.sqlitePath ? { kind: 'sqlite', path: options.sqlitePath } : { kind: 'memory' },
        ringTimeoutMs: options.ringTimeoutMs ?? 30_000,
        ...(options.bodyLimitBytes ? { bodyLimitBytes: options.bodyLimitBytes } : {}),
        waitTimeoutMs: 10_000,
        ...(options.admission ? { admission: options.admission } : {}),
        ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}),
        ...(options.limits ? { limits: options.limits } : {}),
        ...(options.ephemeral ? { ephemeral: options.ephemeral } : {}),
        tenants: [
          tenant('demo', apiKey, options.kaleyraSecret, options.proxyJwtSecret, options.webhookSecrets),
          ...(options.extraTenants ?? []).map((t) =>
            tenant(t.id, t.apiKey, t.kaleyraSecret, t.proxyJwtSecret, {}, t.limits),
          ),
        ],
        providers: sims.providers,
        logLevel: 'info',
      },
      { env },
    );
    const gateway = await createGateway(config, options);
    await gateway.app.register(
      demoPhoneRoutes(gateway, sims, {
        ios: DEMO_APPS.ios,
        fcmProject: DEMO_APPS.fcmProject,
        hmsApp: DEMO_APPS.hmsApp,
      }),
    );
    const url = await gateway.listen();
    return {
      gateway,
      sims,
      url,
      apiKey,
      tenant: 'demo',
      close: async () => {
        await gateway.close();
        await sims.close();
      },
    };
  } catch (error) {
    await sims.close();
    throw error;
  }
}
