import { randomUUID } from 'node:crypto';
import { translateApnsProxy, translateLegacyFcm, type LegacyFcmSend, type ProxiedPush } from '@pushrelay/codec-wazo';
import type { DeliveryOutcome, DeviceDelivery } from '@pushrelay/core';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { TenantConfig } from '../config.js';
import { verifyHs256 } from '../jwt.js';
import type { GatewayServices } from '../services.js';

/** How long past its deadline a proxied push's request waits for the report to settle. */
const REPORT_GRACE_MS = 2000;

/** Where the final answer of a proxied push's one device stands, once the relay is done with it. */
interface ProxyResult {
  device: DeviceDelivery | undefined;
  outcome: DeliveryOutcome | undefined;
}

/**
 * Wazo push-proxy mode: wazo-webhookd without provider credentials sends its pushes to the URL
 * it is configured with, signed by the JWT in the wazo-auth token metadata. We verify that JWT
 * (HS256 with the tenant's `proxyJwtSecret`); codec-wazo translates the request and the relay
 * sends it with our credentials under its deadline and retries. The answer, in the provider's
 * own terms, waits for the delivery report, which the tenant can also read at
 * `/v1/notifications/{x-pushrelay-notification}`.
 */
export const proxyRoutes: FastifyPluginAsync<{ services: GatewayServices }> = async (app, { services }) => {
  const tenants = services.tenants;
  const clock = services.clock;
  const config = services.config;
  const relay = services.relay;

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
  const forward = async (push: ProxiedPush, reply: FastifyReply): Promise<ProxyResult> => {
    const { notification } = push;
    reply.header('x-pushrelay-notification', notification.id);
    await relay.forward({ ...push, format: 'wazo' });
    const timeoutMs = Math.max(0, Date.parse(notification.deadline) - clock.now()) + REPORT_GRACE_MS;
    const report = await relay.waitForCompletion(notification.tenant, notification.id, { timeoutMs });
    const device = report?.devices[0];
    return { device, outcome: device?.attempts.at(-1)?.outcome };
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

  app.post<{ Body: LegacyFcmSend }>(
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
            time_to_live: { type: 'integer', minimum: 0 },
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
      const push = translateLegacyFcm(request.body, {
        tenant: who.tenant.id,
        id: randomUUID(),
        now: clock.now(),
        project,
      });
      const { device, outcome } = await forward(push, reply);
      const status = device?.status ?? 'expired';
      request.log.info({ tenant: who.tenant.id, notification: push.notification.id, status }, 'wazo proxy fcm push');
      const ok = status === 'delivered';
      // Legacy FCM's own words: a push still failing when the deadline ends is Unavailable.
      const unavailable = status === 'expired' || status === 'retrying' || status === 'pending';
      const error =
        status === 'invalid-token'
          ? 'NotRegistered'
          : unavailable
            ? 'Unavailable'
            : status === 'auth-failed'
              ? 'MismatchSenderId'
              : 'InvalidRegistration';
      const providerId = outcome?.kind === 'delivered' ? outcome.providerId : undefined;
      return reply.status(unavailable ? 503 : 200).send({
        multicast_id: Date.now(),
        success: ok ? 1 : 0,
        failure: ok ? 0 : 1,
        canonical_ids: 0,
        results: [ok ? { message_id: providerId ?? randomUUID() } : { error }],
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
      if (typeof request.headers['apns-topic'] !== 'string') return apnsError(400, 'MissingTopic');
      const push = translateApnsProxy(
        { token: request.params.token, headers: request.headers, body: request.body },
        { tenant: who.tenant.id, id: randomUUID(), now: clock.now() },
      );
      const { device, outcome } = await forward(push, reply);
      const status = device?.status ?? 'expired';
      request.log.info({ tenant: who.tenant.id, notification: push.notification.id, status }, 'wazo proxy apns push');
      const reason = outcome && 'reason' in outcome ? outcome.reason : (device?.detail ?? status);
      switch (status) {
        case 'delivered':
          return reply
            .status(200)
            .header('apns-id', (outcome?.kind === 'delivered' ? outcome.providerId : undefined) ?? randomUUID())
            .send();
        case 'invalid-token':
          return apnsError(410, reason);
        case 'expired':
        case 'retrying':
        case 'pending':
          return apnsError(503, 'ServiceUnavailable');
        case 'auth-failed':
          return apnsError(403, reason);
        default:
          return apnsError(400, reason);
      }
    },
  );
};
