import {
  CALL_NOTIFICATION_SCHEMA,
  DEVICE_STATUSES,
  ENVIRONMENTS,
  NOTIFICATION_TYPES,
  PROVIDERS,
  PUSH_KINDS,
} from '@pushrelay/core';

/**
 * The gateway's API contract: each route's request and every answer it gives, with examples.
 * Fastify validates requests and serializes answers with these, and `/openapi.json` is made from
 * them, so the document is what the server does. A CallNotification's schema is core's
 * (`CALL_NOTIFICATION_SCHEMA`, the one `parseCallNotification` checks with).
 */

const ERROR_CODES = [
  'validation_failed',
  'malformed_json',
  'bad_request',
  'unknown_format',
  'unsupported_provider',
  'invalid_vendor_input',
  'unauthorized',
  'invalid_signature',
  'forbidden',
  'not_found',
  'payload_too_large',
  'unsupported_media_type',
  'internal_error',
  'queue_unavailable',
  'overloaded',
  'rate_limited',
  'device_limit',
] as const;

const errorProperties = {
  error: { type: 'string', enum: ERROR_CODES, description: 'stable error code' },
  message: { type: 'string', description: 'what is wrong, for a person' },
  details: {
    type: 'array',
    description: 'every problem found, with the path of the field',
    items: {
      type: 'object',
      required: ['path', 'message'],
      properties: { path: { type: 'string' }, message: { type: 'string' } },
    },
  },
} as const;

type ErrorExample = {
  error: (typeof ERROR_CODES)[number];
  message: string;
  details?: { path: string; message: string }[];
};

/** An error answer: the Error shape with its own description and examples. */
export function errorResponse(description: string, ...examples: ErrorExample[]) {
  return {
    description,
    type: 'object',
    properties: errorProperties,
    required: ['error', 'message', 'details'],
    examples: examples.map((e) => ({ details: [], ...e })),
  } as const;
}

const unauthorizedExample: ErrorExample = {
  error: 'unauthorized',
  message: 'a valid API key is required: Authorization: Bearer <key>',
};

/** What every authenticated route may answer besides its own. */
export const errorResponses = {
  401: errorResponse('No API key, or one that is not valid', unauthorizedExample),
  500: errorResponse('An unexpected failure (logged); nothing was half-done', {
    error: 'internal_error',
    message: 'the request could not be handled',
  }),
} as const;

/** What a route with a JSON body may answer besides its own. */
export const bodyErrorResponses = {
  413: errorResponse('The body is larger than `bodyLimitBytes`', {
    error: 'payload_too_large',
    message: 'Request body is too large',
  }),
  415: errorResponse('The body is not JSON (`content-type: application/json`)', {
    error: 'unsupported_media_type',
    message: 'Unsupported Media Type: text/plain',
  }),
} as const;

const notFoundResponse = (what: string) =>
  errorResponse(`No such ${what} in this tenant`, { error: 'not_found', message: `${what} x-1 not found` });

const stringMap = {
  type: 'object',
  additionalProperties: { type: 'string', maxLength: 1024 },
  maxProperties: 32,
} as const;

const deviceExample = {
  id: 'b4c1e7de-52f4-4bb1-9c3e-0b1b1b0b7d11',
  tenant: 'acme',
  userId: 'alice',
  provider: 'apns',
  token: 'ab'.repeat(32),
  app: 'com.example.phone',
  environment: 'sandbox',
  pushKind: 'voip',
  format: 'wazo',
  params: { apns_call_topic: 'com.example.phone.voip' },
  origin: 'api',
  createdAt: '2026-01-05T10:00:00.000Z',
  updatedAt: '2026-01-05T10:00:00.000Z',
};

export const bindingSchema = {
  $id: 'Device',
  type: 'object',
  additionalProperties: true,
  required: ['id', 'userId', 'provider', 'app', 'environment', 'pushKind', 'format', 'createdAt', 'updatedAt'],
  properties: {
    id: { type: 'string' },
    tenant: { type: 'string' },
    userId: { type: 'string' },
    provider: { type: 'string', enum: PROVIDERS },
    token: { type: 'string' },
    app: { type: 'string' },
    environment: { type: 'string', enum: ENVIRONMENTS },
    pushKind: { type: 'string', enum: PUSH_KINDS },
    format: { type: 'string' },
    params: stringMap,
    origin: { type: 'string' },
    sipInstance: { type: 'string' },
    pushKey: { type: 'string', description: 'base64 AES-256 key the app decrypts its pushes with (SignalWire format)' },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
  },
  examples: [deviceExample],
} as const;

export const registerDeviceBody = {
  type: 'object',
  additionalProperties: false,
  required: ['userId', 'provider', 'app', 'format'],
  properties: {
    userId: { type: 'string', minLength: 1, maxLength: 200 },
    provider: { type: 'string', enum: PROVIDERS },
    token: {
      type: 'string',
      minLength: 1,
      maxLength: 4096,
      description: 'the device token (every provider but webpush)',
    },
    subscription: {
      type: 'object',
      description:
        "webpush only: the browser's PushSubscription.toJSON() ({endpoint, keys: {p256dh, auth}}); it becomes the token",
      additionalProperties: true,
    },
    app: {
      type: 'string',
      minLength: 1,
      maxLength: 255,
      description: 'APNs bundle id, FCM project id, HMS app id, or the VAPID key set (webpush)',
    },
    environment: { type: 'string', enum: ENVIRONMENTS, default: 'production' },
    pushKind: { type: 'string', enum: PUSH_KINDS, default: 'voip' },
    format: { type: 'string', minLength: 1, maxLength: 64, description: 'codec id of the payload the app expects' },
    params: stringMap,
  },
  examples: [
    {
      userId: 'alice',
      provider: 'apns',
      token: 'ab'.repeat(32),
      app: 'com.example.phone',
      environment: 'sandbox',
      pushKind: 'voip',
      format: 'wazo',
      params: { apns_call_topic: 'com.example.phone.voip' },
    },
  ],
} as const;

export const registerDeviceResponses = {
  200: { description: 'The device was known (same provider and token): refreshed', $ref: 'Device#' },
  201: { description: 'The device is registered', $ref: 'Device#' },
  400: errorResponse(
    'The body is not a valid device, or this gateway cannot push to it',
    {
      error: 'validation_failed',
      message: 'invalid body: provider: must be equal to one of the allowed values',
      details: [{ path: 'provider', message: 'must be equal to one of the allowed values' }],
    },
    {
      error: 'unknown_format',
      message: 'format "acme" is not enabled',
      details: [{ path: 'format', message: 'must be one of wazo, kaleyra' }],
    },
    {
      error: 'unsupported_provider',
      message: 'format "wazo" does not push through hms',
      details: [{ path: 'provider', message: 'must be one of apns, fcm for format wazo' }],
    },
    { error: 'malformed_json', message: "Body is not valid JSON but content-type is set to 'application/json'" },
  ),
  ...errorResponses,
  ...bodyErrorResponses,
  429: errorResponse(
    'A new device of a tenant at its bound (`limits.maxDevicesPerTenant`); nothing was written. A known device (same provider and token) is still refreshed',
    {
      error: 'device_limit',
      message: 'tenant acme has 100000 devices, its bound is 100000: remove devices before registering new ones',
    },
  ),
} as const;

export const deviceListResponses = {
  200: {
    description: "The user's devices, oldest first",
    type: 'object',
    required: ['devices'],
    properties: { devices: { type: 'array', items: { $ref: 'Device#' } } },
    examples: [{ devices: [deviceExample] }],
  },
  400: errorResponse('`userId` is missing', {
    error: 'validation_failed',
    message: "invalid querystring: querystring.userId: must have required property 'userId'",
    details: [{ path: 'querystring.userId', message: "must have required property 'userId'" }],
  }),
  ...errorResponses,
} as const;

export const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 200 } },
} as const;

const idTooLong = errorResponse('The id is longer than 200 characters', {
  error: 'validation_failed',
  message: 'invalid params: params.id: must NOT have more than 200 characters',
  details: [{ path: 'params.id', message: 'must NOT have more than 200 characters' }],
});

export const deleteDeviceResponses = {
  204: { description: 'The device is unregistered', type: 'null' },
  400: idTooLong,
  404: notFoundResponse('device'),
  ...errorResponses,
} as const;

export const webPushKeysResponses = {
  200: {
    description: 'The configured VAPID key sets',
    type: 'object',
    required: ['keys'],
    properties: {
      keys: {
        type: 'array',
        items: {
          type: 'object',
          required: ['app', 'publicKey'],
          properties: { app: { type: 'string' }, publicKey: { type: 'string' } },
        },
      },
    },
    examples: [{ keys: [{ app: 'web', publicKey: 'BNc1...base64url...' }] }],
  },
  ...errorResponses,
} as const;

/** The request body of `POST /v1/notifications`: core's schema, with an example. */
export const notificationBody = {
  ...CALL_NOTIFICATION_SCHEMA,
  examples: [
    {
      type: 'incoming_call',
      recipient: 'alice',
      call: { id: '1560784195.313', from: { number: '8001', displayName: 'Bob' } },
    },
  ],
} as const;

const attemptSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    attempt: { type: 'integer' },
    at: { type: 'string', format: 'date-time' },
    latencyMs: { type: 'number' },
    outcome: {
      type: 'object',
      additionalProperties: true,
      properties: { kind: { type: 'string' }, reason: { type: 'string' } },
    },
  },
} as const;

const reportExample = {
  notificationId: 'call-0001',
  tenant: 'acme',
  recipient: 'alice',
  type: 'incoming_call',
  acceptedAt: '2026-01-05T10:00:00.000Z',
  deadline: '2026-01-05T10:00:30.000Z',
  status: 'completed',
  devices: [
    {
      bindingId: deviceExample.id,
      provider: 'apns',
      app: 'com.example.phone',
      format: 'wazo',
      status: 'delivered',
      attempts: [{ attempt: 1, at: '2026-01-05T10:00:00.020Z', outcome: { kind: 'delivered' }, latencyMs: 18 }],
      updatedAt: '2026-01-05T10:00:00.040Z',
    },
  ],
  completedAt: '2026-01-05T10:00:00.040Z',
};

export const reportSchema = {
  $id: 'Report',
  type: 'object',
  additionalProperties: true,
  required: ['notificationId', 'tenant', 'recipient', 'type', 'acceptedAt', 'deadline', 'status', 'devices'],
  properties: {
    notificationId: { type: 'string' },
    tenant: { type: 'string' },
    recipient: { type: 'string' },
    type: { type: 'string', enum: NOTIFICATION_TYPES },
    acceptedAt: { type: 'string', format: 'date-time' },
    deadline: { type: 'string', format: 'date-time' },
    status: { type: 'string', enum: ['in-progress', 'completed', 'suppressed'] },
    suppressedReason: { type: 'string', enum: ['online', 'no-devices'] },
    completedAt: { type: 'string', format: 'date-time' },
    devices: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: true,
        required: ['bindingId', 'provider', 'app', 'format', 'status', 'attempts', 'updatedAt'],
        properties: {
          bindingId: { type: 'string' },
          provider: { type: 'string', enum: PROVIDERS },
          app: { type: 'string' },
          format: { type: 'string' },
          status: { type: 'string', enum: DEVICE_STATUSES },
          attempts: { type: 'array', items: attemptSchema },
          detail: { type: 'string' },
          updatedAt: { type: 'string', format: 'date-time' },
        },
      },
    },
  },
  examples: [reportExample],
} as const;

const queueUnavailable = errorResponse(
  'The delivery queue cannot be reached (`Retry-After: 1`), or the gateway is over an admission bound (`overloaded`, nothing was written; `Retry-After: admission.retryAfterSeconds`): send the same request again later',
  {
    error: 'queue_unavailable',
    message: 'the delivery queue cannot be reached; send the request again with the same Idempotency-Key (or id)',
  },
  {
    error: 'overloaded',
    message: 'the relay has 8000 sends waiting, its bound for this type is 8000; try again later',
  },
);

/** A tenant over its rate or its share of the pending sends: the 429 of every route that accepts notifications. */
export const rateLimited = errorResponse(
  'The tenant is over its notification rate (`rateLimit`) or its share of the pending sends (`admission.maxTenantPercent`); nothing was written; `Retry-After` says when to try again',
  { error: 'rate_limited', message: 'tenant acme is over its notification rate; try again in 1 s' },
  {
    error: 'rate_limited',
    message: 'tenant acme has 5000 sends waiting, its share of the relay for calls is 5000; try again later',
  },
);

export const sendNotificationResponses = {
  200: {
    description: '`?wait=true`: every device is done (or `waitTimeoutMs` passed); the delivery report',
    type: 'object',
    required: ['id', 'duplicate', 'report'],
    properties: {
      id: { type: 'string' },
      duplicate: { type: 'boolean', description: 'the id was seen before: nothing new was sent' },
      report: { $ref: 'Report#' },
    },
    examples: [{ id: 'call-0001', duplicate: false, report: reportExample }],
  },
  202: {
    description: 'Queued; `Location` is its report',
    type: 'object',
    required: ['id', 'duplicate', 'status'],
    headers: { location: { type: 'string', description: 'the report: /v1/notifications/{id}' } },
    properties: {
      id: { type: 'string' },
      duplicate: { type: 'boolean', description: 'the id was seen before: nothing new was sent' },
      status: { type: 'string', enum: ['in-progress', 'completed', 'suppressed'] },
    },
    examples: [{ id: 'call-0001', duplicate: false, status: 'in-progress' }],
  },
  400: errorResponse(
    "Not a valid CallNotification (core's issues, every one with its path), or a bad header or query",
    {
      error: 'validation_failed',
      message: 'invalid notification: call: is required for incoming_call',
      details: [{ path: 'call', message: 'is required for incoming_call' }],
    },
    {
      error: 'validation_failed',
      message: 'the Idempotency-Key header and the body id differ',
      details: [{ path: 'id', message: 'must equal the Idempotency-Key header when both are given' }],
    },
  ),
  ...errorResponses,
  ...bodyErrorResponses,
  429: rateLimited,
  503: queueUnavailable,
} as const;

export const reportResponses = {
  200: { description: 'The delivery report', $ref: 'Report#' },
  400: idTooLong,
  404: notFoundResponse('notification'),
  ...errorResponses,
} as const;

export const healthResponses = {
  200: {
    description: 'The process is alive',
    type: 'object',
    required: ['status'],
    properties: { status: { type: 'string', enum: ['ok'] } },
    examples: [{ status: 'ok' }],
  },
} as const;

export const readyResponses = {
  200: {
    description: 'Ready to take traffic',
    type: 'object',
    required: ['ready'],
    properties: { ready: { type: 'boolean', enum: [true] } },
    examples: [{ ready: true }],
  },
  503: {
    description: 'Draining: a load balancer should send no more requests here',
    type: 'object',
    required: ['ready', 'reason'],
    properties: { ready: { type: 'boolean', enum: [false] }, reason: { type: 'string', enum: ['draining'] } },
    examples: [{ ready: false, reason: 'draining' }],
  },
} as const;

export const metricsResponses = {
  200: {
    description: 'Prometheus text exposition of every metric (see the README)',
    content: {
      'text/plain': {
        schema: {
          type: 'string',
          example: 'pushrelay_queue_depth 0\npushrelay_open_sockets 1\n',
        },
      },
    },
  },
} as const;

export const connectResponses = {
  101: {
    description: 'Switched to a WebSocket; the first message is `{"kind":"ready","tenant","userId"}`',
    type: 'null',
  },
  400: errorResponse('`userId` is missing', {
    error: 'bad_request',
    message: 'userId is required',
    details: [{ path: 'userId', message: 'is required' }],
  }),
  401: errorResponse('No API key (`Authorization: Bearer` or `?access_token=`), or one that is not valid', {
    error: 'unauthorized',
    message: 'a valid API key is required: Authorization: Bearer <key>',
  }),
  500: errorResponses[500],
} as const;
