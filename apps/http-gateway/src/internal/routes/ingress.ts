import { OverloadedError, RateLimitedError, type CallNotification } from '@pushrelay/core';
import { WAZO_RESERVED_TYPES } from '@pushrelay/codec-wazo';
import type { FastifyBaseLogger, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { TenantConfig } from '../config.js';
import { HttpError, unauthorized } from '../http-error.js';
import { errorResponse, errorResponses, bodyErrorResponses, rateLimited } from '../schemas.js';
import type { GatewayServices } from '../services.js';
import { hmacTimestampVerifier } from '../webhooks.js';

/** How long a Kaleyra webhook's answer waits for its notifications to be queued. */
const KALEYRA_ANSWER_WAIT_MS = 1000;
/** Between tries to queue a Kaleyra notification already answered 200. */
const KALEYRA_RETRY_MS = 1000;
/** How long a refused webhook waits for its replay claim to be given back. */
const REPLAY_RELEASE_WAIT_MS = 500;

/** What `work` came to within `ms`: done, failed (with the error), or still pending. */
async function settledWithin(work: Promise<unknown>, ms: number): Promise<'pending' | { error?: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<'pending'>((resolve) => {
    timer = setTimeout(() => resolve('pending'), ms);
  });
  try {
    return await Promise.race([
      work.then(
        () => ({}),
        (error: unknown) => ({ error }),
      ),
      pending,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Vendor entry points: each decodes its vendor's input with that vendor's codec. */
export const ingressRoutes: FastifyPluginAsync<{ services: GatewayServices }> = async (app, { services }) => {
  const relay = services.relay;
  const clock = services.clock;
  const config = services.config;
  const tenants = services.tenants;
  const metrics = services.metrics;
  const verifiers = services.webhookVerifiers;
  const replay = services.replayGuard;
  const codecs = new Map(services.codecs.map((c) => [c.id, c]));

  const decode = (codecId: string, input: unknown, tenant: string): CallNotification[] => {
    const codec = codecs.get(codecId);
    if (!codec?.decode) throw new HttpError(404, 'not_found', `the ${codecId} codec is not enabled`);
    return codec.decode(input, { tenant, now: clock.now(), defaultRingTimeoutMs: config.ringTimeoutMs });
  };
  const notifyAll = (notifications: CallNotification[], log: FastifyBaseLogger) =>
    Promise.all(
      notifications.map(async (n) => {
        try {
          await relay.notify(n);
          log.info({ notificationId: n.id, callId: n.call?.id, type: n.type }, 'notification accepted');
        } catch (error) {
          // Refusals under load are counted by the error handler: logging each would fill the log.
          if (!(error instanceof OverloadedError || error instanceof RateLimitedError))
            log.error({ err: error, notificationId: n.id }, 'notification could not be accepted');
          throw error;
        }
      }),
    );

  /**
   * Queues notifications that were answered 200 but not queued in time, again every second until
   * they are queued or their deadline passes. A repeat is idempotent: the relay queues only what
   * is missing.
   */
  const retryAccepting = (notifications: CallNotification[], log: FastifyBaseLogger): void => {
    const deadline = Math.max(...notifications.map((n) => Date.parse(n.deadline)));
    const again = (): void => {
      if (clock.now() >= deadline) {
        log.error(
          { notificationIds: notifications.map((n) => n.id) },
          'notification dropped: not queued before its deadline',
        );
        return;
      }
      notifyAll(notifications, log).catch(() => clock.setTimer(again, KALEYRA_RETRY_MS));
    };
    clock.setTimer(again, KALEYRA_RETRY_MS);
  };

  // wazo-webhookd's custom push API: same path, headers, validation and status codes.
  app.post(
    '/1.0/mobile/notifications',
    {
      schema: {
        tags: ['wazo'],
        summary: 'Wazo-compatible custom push (wazo-webhookd POST /1.0/mobile/notifications)',
        security: [{ wazoToken: [] }],
        headers: {
          type: 'object',
          properties: { 'x-auth-token': { type: 'string' }, 'wazo-tenant': { type: 'string' } },
        },
        body: {
          type: 'object',
          required: ['notification_type', 'user_uuid', 'title', 'body'],
          properties: {
            // wazo-webhookd's rule: 1-100 letters, digits or underscores in any case, never a type
            // Wazo sends itself.
            notification_type: {
              type: 'string',
              minLength: 1,
              maxLength: 100,
              pattern: '^[A-Za-z0-9_]+$',
              not: { enum: [...WAZO_RESERVED_TYPES] },
            },
            user_uuid: { type: 'string', minLength: 36, maxLength: 36 },
            title: { type: 'string', maxLength: 128 },
            body: { type: 'string', maxLength: 250 },
            extra: { type: 'object', additionalProperties: true },
          },
        },
        response: { 204: { type: 'null' } },
      },
      // Wazo answers 401 before it looks at the body.
      onRequest: async (request) => {
        const token = request.headers['x-auth-token'];
        if (typeof token !== 'string' || token === '') throw unauthorized('X-Auth-Token is required');
        const tenant = tenants.authenticate(token);
        if (!tenant) throw unauthorized('the token is not valid');
        const wanted = request.headers['wazo-tenant'];
        if (typeof wanted === 'string' && wanted !== '' && wanted !== tenant.id) {
          throw new HttpError(403, 'forbidden', `the token may not act in tenant ${wanted}`);
        }
        request.tenant = tenant;
      },
    },
    async (request, reply) => {
      const tenant = request.tenant!;
      const notifications = decode('wazo', request.body, tenant.id);
      await notifyAll(notifications, request.log);
      return reply.status(204).send();
    },
  );

  /**
   * Who sends a vendor's input: a Bearer API key, or `?tenant=<id>` when that tenant signs this
   * vendor's webhooks (a secret under `webhookSecrets.<codec>`).
   */
  const ingressTenant = (request: FastifyRequest, codecId: string): TenantConfig => {
    const auth = request.headers.authorization;
    if (auth) {
      const m = /^Bearer\s+(\S+)$/i.exec(auth);
      const tenant = m ? tenants.authenticate(m[1]!) : undefined;
      if (!tenant) throw unauthorized('the API key is not valid');
      return tenant;
    }
    const id = (request.query as Record<string, unknown>).tenant;
    const tenant = typeof id === 'string' ? tenants.tenant(id) : undefined;
    if (!tenant || !tenant.webhookSecrets[codecId]) {
      throw unauthorized('sign the webhook with the tenant secret (?tenant=<id>) or send Authorization: Bearer <key>');
    }
    return tenant;
  };

  /**
   * Checks the signature when the tenant has a secret for this vendor, and claims it against
   * replays; returns the claim, to be given back if the input cannot be queued.
   */
  const verifySignature = async (request: FastifyRequest, codecId: string): Promise<string | undefined> => {
    const secret = request.tenant!.webhookSecrets[codecId];
    if (!secret) return undefined;
    const verifier = verifiers[codecId] ?? defaultVerifier;
    const result = verifier.verify({ headers: request.headers, rawBody: request.rawBody ?? Buffer.alloc(0) }, secret);
    const claim = result.ok ? `${codecId}:${result.replayKey}` : undefined;
    const fresh = result.ok ? await replay.check(claim!, result.timestampMs) : result;
    if (!fresh.ok) {
      metrics.webhookFailures.inc({ vendor: codecId });
      throw new HttpError(401, 'invalid_signature', fresh.reason);
    }
    return claim;
  };
  // Bounded: the claim may live in the very Redis that is away, and the 503 must not wait.
  const releaseClaim = async (claim: string | undefined): Promise<void> => {
    if (claim !== undefined) await settledWithin(replay.release(claim), REPLAY_RELEASE_WAIT_MS);
  };

  app.post(
    '/v1/ingress/kaleyra',
    {
      schema: {
        tags: ['ingress'],
        summary: 'Kaleyra Video webhook (on_call_incoming, on_call_ended, on_missed_call)',
        description:
          'Authenticated by a signature (X-Pushrelay-Timestamp + X-Pushrelay-Signature: v1=hex HMAC-SHA256(secret, "<ts>.<body>")) with `?tenant=<id>`, or by a Bearer API key. Signed when the tenant has a kaleyra secret.',
        querystring: { type: 'object', properties: { tenant: { type: 'string', maxLength: 100 } } },
        body: {
          type: 'object',
          required: ['event'],
          properties: { event: { type: 'string' }, data: { type: 'object' } },
        },
      },
      onRequest: async (request) => {
        request.tenant = ingressTenant(request, 'kaleyra');
      },
    },
    async (request, reply) => {
      const claim = await verifySignature(request, 'kaleyra');
      const notifications = decode('kaleyra', request.body, request.tenant!.id);
      // Kaleyra gives up on a slow webhook, so the answer waits for the queue only briefly: a queue
      // that cannot be reached is a 503 the sender can retry (ids come from the webhook, so a retry
      // is idempotent); a queue that is merely slow gets the 200 and finishes in the background.
      const accepting = notifyAll(notifications, request.log);
      const early = await settledWithin(accepting, KALEYRA_ANSWER_WAIT_MS);
      if (early === 'pending') {
        // Answered 200 already, so nobody will send this again: keep trying while it can ring.
        accepting.catch(() => retryAccepting(notifications, request.log));
      } else if (early.error) {
        await releaseClaim(claim);
        throw early.error;
      }
      return reply.status(200).send({ accepted: notifications.map((n) => n.id) });
    },
  );

  // Every other codec that decodes a vendor's input (SignalWire's call-to-deliver, Wazo's custom
  // push with an API key): one door, answered once the notifications are queued.
  const decoding = services.codecs.filter((c) => c.decode && c.id !== 'kaleyra').map((c) => c.id);
  app.post<{ Params: { codec: string }; Querystring: { tenant?: string } }>(
    '/v1/ingress/:codec',
    {
      schema: {
        tags: ['ingress'],
        summary: "A vendor's input, decoded by that vendor's codec and queued",
        description: `Decodes the body with the codec named in the path (enabled here: ${decoding.join(', ') || 'none'}). Authenticated by a Bearer API key, or signed (X-Pushrelay-Timestamp + X-Pushrelay-Signature) with \`?tenant=<id>\` when the tenant has a \`webhookSecrets.<codec>\` secret.`,
        params: {
          type: 'object',
          required: ['codec'],
          properties: { codec: { type: 'string', minLength: 1, maxLength: 64, examples: decoding.slice(0, 1) } },
        },
        querystring: { type: 'object', properties: { tenant: { type: 'string', maxLength: 100 } } },
        response: ingressResponses,
      },
      onRequest: async (request) => {
        const { codec } = request.params as { codec: string };
        if (!decoding.includes(codec)) {
          throw new HttpError(404, 'not_found', `no codec ${codec} that decodes a vendor's input is enabled`);
        }
        request.tenant = ingressTenant(request, codec);
      },
    },
    async (request, reply) => {
      const { codec } = request.params;
      const claim = await verifySignature(request, codec);
      const notifications = decode(codec, request.body, request.tenant!.id);
      try {
        await notifyAll(notifications, request.log);
      } catch (error) {
        // Nothing was answered: the sender may send the very same signed request again.
        await releaseClaim(claim);
        throw error;
      }
      return reply.status(202).send({ accepted: notifications.map((n) => n.id) });
    },
  );
};

/** The signature every vendor door checks unless `webhookVerifiers` has its own for that codec. */
const defaultVerifier = hmacTimestampVerifier();

const ingressResponses = {
  202: {
    description:
      'Decoded and queued: the ids of the notifications made from the input (their reports are at /v1/notifications/{id})',
    type: 'object',
    required: ['accepted'],
    properties: { accepted: { type: 'array', items: { type: 'string' } } },
    examples: [{ accepted: ['5c3c2f0e-7a0b-4c51-9d1e-2b8f6a4d3c21'] }],
  },
  400: errorResponse('The codec refused the input (the field that failed is in `details`), or the JSON is malformed', {
    error: 'invalid_vendor_input',
    message: 'signalwire: callee_user_id: is required',
    details: [{ path: 'callee_user_id', message: 'signalwire: callee_user_id: is required' }],
  }),
  401: errorResponse(
    'No valid API key, or a signature that is missing, does not match, is stale or was seen before',
    {
      error: 'unauthorized',
      message: 'sign the webhook with the tenant secret (?tenant=<id>) or send Authorization: Bearer <key>',
    },
    { error: 'invalid_signature', message: 'signature does not match' },
  ),
  404: errorResponse('No enabled codec of that name decodes a vendor input', {
    error: 'not_found',
    message: "no codec ecss that decodes a vendor's input is enabled",
  }),
  429: rateLimited,
  500: errorResponses[500],
  ...bodyErrorResponses,
  503: errorResponse(
    "The delivery queue cannot be reached (`Retry-After: 1`), or the gateway is over an admission bound (`overloaded`): send the same input again later (idempotent when the input carries its own id, as SignalWire's `notification_uuid` or `callID`)",
    {
      error: 'queue_unavailable',
      message: 'the delivery queue cannot be reached; send the request again with the same Idempotency-Key (or id)',
    },
  ),
} as const;
