import { randomUUID } from 'node:crypto';
import { pythonJsonDumps } from '@pushrelay/codec-wazo';
import { bundleIdOfTopic, isVoipTopic, type DeliveryOutcome, type PushRequest } from '@pushrelay/core';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { TenantConfig } from '../config.js';
import { verifyHs256 } from '../jwt.js';
import type { GatewayServices } from '../services.js';

interface LegacyFcmBody {
  to: string;
  priority?: string;
  data?: { notification_type?: string; items?: unknown; [k: string]: unknown };
  notification?: { title?: string; body?: string; android_channel_id?: string; badge?: number };
}

/**
 * Wazo push-proxy mode: wazo-webhookd without provider credentials sends its pushes to the URL
 * it is configured with, signed by the JWT in the wazo-auth token metadata. We verify that JWT
 * (HS256 with the tenant's `proxyJwtSecret`) and relay to the real provider with our credentials.
 */
export const proxyRoutes: FastifyPluginAsync<{ services: GatewayServices }> = async (app, { services }) => {
  const tenants = services.tenants;
  const clock = services.clock;
  const config = services.config;
  const transports = services.transports;
  const metrics = services.metrics;

  const verify = (jwt: string | undefined): { tenant: TenantConfig; claims: Record<string, unknown> } | undefined => {
    if (!jwt) return undefined;
    let found: { tenant: TenantConfig; claims: Record<string, unknown> } | undefined;
    for (const tenant of tenants.all) {
      if (!tenant.proxyJwtSecret) continue;
      const result = verifyHs256(jwt, tenant.proxyJwtSecret, clock.now());
      if (result.ok && !found) found = { tenant, claims: result.claims };
    }
    return found;
  };
  const send = async (request: PushRequest): Promise<DeliveryOutcome> => {
    const transport = transports[request.provider];
    if (!transport) return { kind: 'rejected', reason: `no ${request.provider} transport is configured` };
    const started = Date.now();
    const outcome = await transport
      .send(request)
      .catch((error: unknown): DeliveryOutcome => ({ kind: 'rejected', reason: String(error) }));
    metrics.notifications.inc({ provider: request.provider, push_type: request.pushType, result: outcome.kind });
    metrics.providerLatency.observe({ provider: request.provider }, (Date.now() - started) / 1000);
    return outcome;
  };
  const defaultFcmProject = (): string | undefined => {
    const first = (
      config.providers.fcm?.credentials as { projectId?: string; serviceAccount?: unknown }[] | undefined
    )?.[0];
    if (first?.projectId) return first.projectId;
    const sa =
      typeof first?.serviceAccount === 'string'
        ? (JSON.parse(first.serviceAccount) as { project_id?: string })
        : (first?.serviceAccount as { project_id?: string } | undefined);
    return sa?.project_id;
  };

  app.post<{ Body: LegacyFcmBody }>(
    '/fcm/send',
    {
      schema: {
        tags: ['wazo proxy'],
        summary: 'Legacy FCM send as wazo-webhookd (pyfcm) posts it in push-proxy mode; relayed through FCM HTTP v1',
        security: [],
        headers: { type: 'object', properties: { authorization: { type: 'string', description: 'key=<JWT>' } } },
        body: {
          type: 'object',
          required: ['to'],
          properties: {
            to: { type: 'string', minLength: 1, maxLength: 4096 },
            priority: { type: 'string' },
            data: { type: 'object', additionalProperties: true },
            notification: { type: 'object', additionalProperties: true },
          },
        },
      },
    },
    async (request, reply) => {
      const auth = /^key=(\S+)$/.exec(request.headers.authorization ?? '')?.[1];
      const who = verify(auth);
      if (!who)
        return reply.status(401).send({
          error: 'unauthorized',
          message: 'Authorization: key=<JWT> signed with the tenant proxy secret is required',
          details: [],
        });
      const project =
        (typeof who.claims.fcm_project === 'string' ? who.claims.fcm_project : undefined) ?? defaultFcmProject();
      if (!project)
        return reply
          .status(400)
          .send({ error: 'no_fcm_project', message: 'no FCM project is configured', details: [] });
      const body = request.body;
      const { items, notification_type, ...rest } = body.data ?? {};
      const data: Record<string, string> = {};
      for (const [k, v] of Object.entries(rest)) data[k] = typeof v === 'string' ? v : JSON.stringify(v);
      data.notification_type = String(notification_type ?? '');
      // What wazo-webhookd's own FCM v1 client would send: items as sorted, compact, ASCII JSON.
      data.items =
        items === undefined || items === null || (typeof items === 'object' && Object.keys(items).length === 0)
          ? ''
          : pythonJsonDumps(items);
      const android: Record<string, unknown> = { priority: 'high', ttl: '0s' };
      if (body.notification?.title) {
        android.notification = {
          title: body.notification.title,
          ...(body.notification.body !== undefined ? { body: body.notification.body } : {}),
          channel_id: body.notification.android_channel_id ?? 'io.wazo.songbird',
          notification_count: body.notification.badge ?? 1,
        };
      }
      const outcome = await send({
        provider: 'fcm',
        token: body.to,
        app: project,
        environment: 'production',
        pushType: 'background',
        priority: 'high',
        expiresAt: null,
        payload: { android, data },
      });
      request.log.info({ tenant: who.tenant.id, outcome: outcome.kind }, 'wazo proxy fcm push');
      const ok = outcome.kind === 'delivered';
      const error =
        outcome.kind === 'invalid-token'
          ? 'NotRegistered'
          : outcome.kind === 'retry'
            ? 'Unavailable'
            : outcome.kind === 'auth-failed'
              ? 'MismatchSenderId'
              : 'InvalidRegistration';
      return reply.status(outcome.kind === 'retry' ? 503 : 200).send({
        multicast_id: Date.now(),
        success: ok ? 1 : 0,
        failure: ok ? 0 : 1,
        canonical_ids: 0,
        results: [ok ? { message_id: outcome.providerId ?? randomUUID() } : { error }],
      });
    },
  );

  app.post<{ Params: { token: string }; Body: Record<string, unknown> }>(
    '/3/device/:token',
    {
      schema: {
        tags: ['wazo proxy'],
        summary: 'APNs-style send as wazo-webhookd posts it in push-proxy mode; relayed to APNs',
        security: [],
        params: { type: 'object', properties: { token: { type: 'string', pattern: '^[0-9a-fA-F]{64,200}$' } } },
        body: { type: 'object', additionalProperties: true },
      },
    },
    async (request, reply) => {
      const apnsError = (status: number, reason: string, r: FastifyReply = reply) => r.status(status).send({ reason });
      const jwt = /^bearer (\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
      const who = verify(jwt);
      if (!who) return apnsError(403, 'InvalidProviderToken');
      const h = request.headers;
      const topic = typeof h['apns-topic'] === 'string' ? h['apns-topic'] : undefined;
      if (!topic) return apnsError(400, 'MissingTopic');
      const pushType =
        h['apns-push-type'] === 'voip' || isVoipTopic(topic)
          ? 'voip'
          : h['apns-push-type'] === 'background'
            ? 'background'
            : 'alert';
      const expiration = Number(h['apns-expiration'] ?? 0);
      const outcome = await send({
        provider: 'apns',
        token: request.params.token,
        app: bundleIdOfTopic(topic),
        environment: h['x-use-sandbox'] === '1' || h['x-use-sandbox'] === 'true' ? 'sandbox' : 'production',
        pushType,
        priority: h['apns-priority'] === '5' ? 'normal' : 'high',
        expiresAt: expiration > 0 ? expiration * 1000 : null,
        headers: { 'apns-topic': topic },
        payload: request.body ?? {},
      });
      request.log.info({ tenant: who.tenant.id, outcome: outcome.kind }, 'wazo proxy apns push');
      switch (outcome.kind) {
        case 'delivered':
          return reply
            .status(200)
            .header('apns-id', outcome.providerId ?? randomUUID())
            .send();
        case 'invalid-token':
          return apnsError(410, outcome.reason);
        case 'retry':
          return apnsError(503, 'ServiceUnavailable');
        case 'auth-failed':
          return apnsError(403, outcome.reason);
        default:
          return apnsError(400, outcome.reason);
      }
    },
  );
};
