import { ENVIRONMENTS, NOTIFICATION_TYPES, PRIORITIES, PROVIDERS, PUSH_KINDS } from '@pushrelay/core';

export const errorSchema = {
  $id: 'Error',
  type: 'object',
  properties: {
    error: { type: 'string', description: 'stable error code' },
    message: { type: 'string' },
    details: {
      type: 'array',
      items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } },
    },
  },
  required: ['error', 'message', 'details'],
} as const;

const stringMap = {
  type: 'object',
  additionalProperties: { type: 'string', maxLength: 1024 },
  maxProperties: 32,
} as const;

export const bindingSchema = {
  $id: 'Device',
  type: 'object',
  additionalProperties: true,
  properties: {
    id: { type: 'string' },
    userId: { type: 'string' },
    provider: { type: 'string', enum: PROVIDERS },
    app: { type: 'string' },
    environment: { type: 'string', enum: ENVIRONMENTS },
    pushKind: { type: 'string', enum: PUSH_KINDS },
    format: { type: 'string' },
    params: stringMap,
    pushKey: { type: 'string', description: 'base64 AES-256 key the app decrypts its pushes with (SignalWire format)' },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
  },
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
} as const;

const party = {
  type: 'object',
  additionalProperties: false,
  properties: { number: { type: 'string' }, uri: { type: 'string' }, displayName: { type: 'string' } },
} as const;

/** Documents the canonical CallNotification; core's parser checks it fully (limits, dates, ids). */
export const notificationBody = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'recipient'],
  properties: {
    id: { type: 'string', description: 'idempotency key; the Idempotency-Key header wins; generated when absent' },
    type: { type: 'string', enum: NOTIFICATION_TYPES },
    tenant: { type: 'string', description: 'must be the authenticated tenant when given' },
    recipient: { type: 'string', description: 'user id whose devices are woken' },
    call: {
      type: 'object',
      additionalProperties: false,
      properties: {
        id: { type: 'string' },
        from: party,
        to: party,
        video: { type: 'boolean' },
        startedAt: { type: 'string' },
      },
    },
    missed: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        properties: { callId: { type: 'string' }, from: party, at: { type: 'string' } },
      },
    },
    message: {
      type: 'object',
      additionalProperties: false,
      properties: { title: { type: 'string' }, body: { type: 'string' } },
    },
    customType: { type: 'string' },
    createdAt: { type: 'string' },
    deadline: { type: 'string', description: 'ISO time after which the push is useless; default now + ring timeout' },
    priority: { type: 'string', enum: PRIORITIES },
    collapseKey: { type: 'string' },
    vendor: { type: 'object', additionalProperties: true },
  },
} as const;

export const reportSchema = {
  $id: 'Report',
  type: 'object',
  additionalProperties: true,
  properties: {
    notificationId: { type: 'string' },
    status: { type: 'string', enum: ['in-progress', 'completed', 'suppressed'] },
    devices: { type: 'array', items: { type: 'object', additionalProperties: true } },
  },
} as const;

export const errorResponses = {
  400: { $ref: 'Error#' },
  401: { $ref: 'Error#' },
  404: { $ref: 'Error#' },
} as const;
