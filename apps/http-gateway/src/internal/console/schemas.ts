import { notificationBody } from '../schemas.js';

const open = { type: 'object', additionalProperties: true } as const;

export const consoleDeviceSchema = {
  $id: 'ConsoleDevice',
  type: 'object',
  additionalProperties: true,
  description: 'A device as GET /v1/devices shows it, with what the console saw of it',
  properties: {
    device: { $ref: 'Device#' },
    lastOutcome: {
      type: 'object',
      nullable: true,
      additionalProperties: false,
      properties: {
        status: { type: 'string' },
        at: { type: 'string', format: 'date-time' },
        detail: { type: 'string' },
        lastDeliveredAt: {
          type: 'string',
          format: 'date-time',
          description: 'the last time the provider accepted a push to this token (it was valid then)',
        },
      },
    },
  },
} as const;

export const consoleDevicesQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['userId'],
  properties: { userId: { type: 'string', minLength: 1, maxLength: 200 } },
} as const;

export const consoleNotificationsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    userId: { type: 'string', minLength: 1, maxLength: 200 },
    callId: { type: 'string', minLength: 1, maxLength: 200 },
    outcome: {
      type: 'string',
      enum: [
        'in-progress',
        'completed',
        'suppressed',
        'pending',
        'retrying',
        'delivered',
        'invalid-token',
        'rejected',
        'auth-failed',
        'expired',
        'skipped',
      ],
      description: 'a report status, or a device status any of its devices has',
    },
    limit: { type: 'string', pattern: '^(?:[1-9]|[1-9][0-9]|1[0-9][0-9]|200)$', description: '1 to 200, default 50' },
  },
} as const;

export const consoleNotificationsResponse = {
  type: 'object',
  properties: {
    notifications: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: true,
        properties: { callId: { type: 'string' }, report: { $ref: 'Report#' } },
      },
    },
  },
} as const;

export const testPushBody = {
  type: 'object',
  additionalProperties: false,
  required: ['bindingId', 'notification'],
  properties: {
    bindingId: { type: 'string', minLength: 1, maxLength: 200, description: 'the one device pushed' },
    notification: {
      ...notificationBody,
      required: ['type'],
      description: 'a CallNotification; its recipient is the device owner',
    },
  },
} as const;

export const testPushResponse = {
  type: 'object',
  properties: { id: { type: 'string' }, duplicate: { type: 'boolean' }, status: { type: 'string' } },
} as const;

export const consoleStatsResponse = {
  type: 'object',
  additionalProperties: true,
  properties: {
    windowMinutes: { type: 'integer' },
    queueDepth: { type: 'number', nullable: true, description: 'pushrelay_queue_depth, as /metrics shows it' },
    outcomes: { type: 'array', items: open },
    latency: open,
  },
} as const;

export const consoleSessionResponse = {
  type: 'object',
  properties: { tenant: { type: 'string' } },
} as const;
