import { randomBytes } from 'node:crypto';
import {
  ConfigurationError,
  ValidationError,
  parseWebPushSubscription,
  webPushToken,
  type BindingStore,
  type DeviceBinding,
  type DeviceBindingInput,
  type Environment,
  type Provider,
  type PushKind,
} from '@pushrelay/core';
import { webPushEndpointProblem } from '@pushrelay/transport-webpush/endpoint';
import type { FastifyPluginAsync } from 'fastify';
import { HttpError, notFound } from '../http-error.js';
import { webPushPolicy, type WebPushPolicy } from '../registry.js';
import {
  deleteDeviceResponses,
  deviceListResponses,
  idParams,
  registerDeviceBody,
  registerDeviceResponses,
  webPushKeysResponses,
} from '../schemas.js';
import type { Authenticate } from '../server.js';
import type { GatewayServices } from '../services.js';

interface RegisterBody {
  userId: string;
  provider: Provider;
  token?: string;
  subscription?: unknown;
  app: string;
  environment: Environment;
  pushKind: PushKind;
  format: string;
  params?: Record<string, string>;
}

/** The binding as the API shows it: no token secrets, the push key only for formats that use one. */
export function publicBinding(binding: DeviceBinding): Record<string, unknown> {
  const { secrets, ...rest } = binding;
  return secrets?.pushKey ? { ...rest, pushKey: secrets.pushKey } : rest;
}

function invalid(path: string, message: string): HttpError {
  return new HttpError(400, 'validation_failed', `invalid device: ${path}: ${message}`, [{ path, message }]);
}

/**
 * The token a registration stands for: the device token, or for webpush the canonical JSON of
 * a checked subscription whose endpoint is a public https URL and whose app is a configured
 * VAPID key set (pushes to anything else would be refused or would reach the relay's network).
 */
function tokenOf(body: RegisterBody, policy: WebPushPolicy): string {
  if (body.provider !== 'webpush') {
    if (body.subscription !== undefined) throw invalid('subscription', 'is only for provider webpush');
    if (body.token === undefined) throw invalid('token', 'is required');
    return body.token;
  }
  if (body.token !== undefined) throw invalid('token', 'is not used for webpush: send the subscription');
  if (body.subscription === undefined) throw invalid('subscription', 'is required for webpush');
  let subscription;
  try {
    subscription = parseWebPushSubscription(body.subscription);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    const details = error.issues.map((i) => ({
      path: i.path ? `subscription.${i.path}` : 'subscription',
      message: i.message,
    }));
    throw new HttpError(
      400,
      'validation_failed',
      `invalid device: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`,
      details,
    );
  }
  const problem = webPushEndpointProblem(subscription.endpoint, { allowInsecure: policy.allowInsecureEndpoints });
  if (problem) throw invalid('subscription.endpoint', problem);
  if (!policy.keys.has(body.app)) {
    throw invalid(
      'app',
      policy.keys.size === 0
        ? 'no VAPID key set is configured (providers.webpush.vapid)'
        : `must be one of the VAPID key sets: ${[...policy.keys.keys()].join(', ')}`,
    );
  }
  return webPushToken(subscription);
}

/**
 * Refuses a new device past the tenant's bound, before anything is written. Registrations racing
 * each other may both pass at the bound minus one: the bound is a guard against a runaway
 * client, not an exact quota.
 */
async function checkDeviceLimit(bindings: BindingStore, tenant: string, max: number): Promise<void> {
  if (max === 0) return;
  const count = await bindings.countForTenant(tenant);
  if (count < max) return;
  throw new HttpError(
    429,
    'device_limit',
    `tenant ${tenant} has ${count} devices, its bound is ${max}: remove devices before registering new ones`,
  );
}

export const deviceRoutes: FastifyPluginAsync<{ services: GatewayServices; authenticate: Authenticate }> = async (
  app,
  { services, authenticate },
) => {
  const bindings = services.bindings;
  const relay = services.relay;
  const codecs = new Map(services.codecs.map((c) => [c.id, c]));
  const pushKeyFormats = services.pushKeyFormats;
  const webPush = webPushPolicy(services.config.providers);
  app.addHook('onRequest', authenticate);

  app.get(
    '/v1/webpush/keys',
    {
      schema: {
        tags: ['devices'],
        summary: 'The VAPID public keys a page subscribes with (PushManager.subscribe applicationServerKey)',
        response: webPushKeysResponses,
      },
    },
    async () => ({ keys: [...webPush.keys].map(([name, publicKey]) => ({ app: name, publicKey })) }),
  );

  app.post<{ Body: RegisterBody }>(
    '/v1/devices',
    {
      schema: {
        tags: ['devices'],
        summary: 'Register or refresh a device (idempotent per provider and token)',
        body: registerDeviceBody,
        response: registerDeviceResponses,
      },
    },
    async (request, reply) => {
      const tenant = request.tenant!.id;
      const body = request.body;
      const token = tokenOf(body, webPush);
      const codec = codecs.get(body.format);
      if (!codec) {
        throw new HttpError(400, 'unknown_format', `format "${body.format}" is not enabled`, [
          { path: 'format', message: `must be one of ${[...codecs.keys()].join(', ')}` },
        ]);
      }
      if (!codec.capabilities.providers.includes(body.provider)) {
        throw new HttpError(
          400,
          'unsupported_provider',
          `format "${body.format}" does not push through ${body.provider}`,
          [
            {
              path: 'provider',
              message: `must be one of ${codec.capabilities.providers.join(', ')} for format ${body.format}`,
            },
          ],
        );
      }
      try {
        relay.checkBinding(body);
      } catch (error) {
        if (!(error instanceof ConfigurationError)) throw error;
        throw new HttpError(
          400,
          'unsupported_provider',
          `this gateway cannot push to such a device: ${error.message}`,
          [{ path: 'provider', message: error.message }],
        );
      }
      const existing = await bindings.findByToken(tenant, body.provider, token);
      // A refresh of a known device adds nothing, so it is allowed at the bound.
      if (!existing) await checkDeviceLimit(bindings, tenant, request.tenant!.limits.maxDevicesPerTenant);
      const input: DeviceBindingInput = {
        tenant,
        userId: body.userId,
        provider: body.provider,
        token,
        app: body.app,
        environment: body.environment,
        pushKind: body.pushKind,
        format: body.format,
        origin: 'api',
      };
      if (body.params) input.params = body.params;
      if (pushKeyFormats.has(body.format)) {
        // Generated once per device: the app stored it at its first registration.
        input.secrets = {
          ...existing?.secrets,
          pushKey: existing?.secrets?.pushKey ?? randomBytes(32).toString('base64'),
        };
      }
      const binding = await bindings.upsert(input);
      request.log.info(
        { bindingId: binding.id, provider: binding.provider, refreshed: Boolean(existing) },
        'device registered',
      );
      return reply.status(existing ? 200 : 201).send(publicBinding(binding));
    },
  );

  app.get<{ Querystring: { userId: string } }>(
    '/v1/devices',
    {
      schema: {
        tags: ['devices'],
        summary: "A user's devices",
        querystring: {
          type: 'object',
          required: ['userId'],
          properties: { userId: { type: 'string', minLength: 1, maxLength: 200 } },
        },
        response: deviceListResponses,
      },
    },
    async (request) => {
      const list = await bindings.forUser(request.tenant!.id, request.query.userId);
      return { devices: list.map(publicBinding) };
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/devices/:id',
    {
      schema: {
        tags: ['devices'],
        summary: 'Unregister a device',
        params: idParams,
        response: deleteDeviceResponses,
      },
    },
    async (request, reply) => {
      if (!(await bindings.remove(request.tenant!.id, request.params.id)))
        throw notFound(`device ${request.params.id}`);
      return reply.status(204).send();
    },
  );
};
