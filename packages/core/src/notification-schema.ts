import { ISO_DATE_TIME } from './internal/check.js';
import { NOTIFICATION_TYPES, PRIORITIES } from './model.js';

/**
 * The JSON Schema (OpenAPI 3.0 subset) of a CallNotification as it travels over the wire.
 * `parseCallNotification` reads its field lists, lengths, patterns and enums from here, so a
 * schema served to clients (the gateway's OpenAPI document) and the checks that run cannot
 * drift. Rules a schema cannot say in OpenAPI 3.0 (which type needs which part, deadline after
 * createdAt, collapseKey in bytes) are in the descriptions and enforced by the parser alone.
 */

const dateTime = {
  type: 'string',
  format: 'date-time',
  pattern: ISO_DATE_TIME.source,
  description: 'ISO 8601 date-time with a time zone',
} as const;

const CALL_PARTY_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  description: 'a number, uri or displayName is required',
  minProperties: 1,
  properties: {
    number: { type: 'string', minLength: 1, maxLength: 64 },
    uri: { type: 'string', minLength: 1, maxLength: 1024 },
    displayName: { type: 'string', minLength: 1, maxLength: 256 },
  },
} as const;

const CALL_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'from'],
  properties: {
    id: { type: 'string', minLength: 1, maxLength: 256 },
    from: CALL_PARTY_SCHEMA,
    to: CALL_PARTY_SCHEMA,
    video: { type: 'boolean', default: false },
    startedAt: { ...dateTime, description: 'default: now' },
  },
} as const;

const MISSED_CALL_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['callId', 'from', 'at'],
  properties: {
    callId: { type: 'string', minLength: 1, maxLength: 256 },
    from: CALL_PARTY_SCHEMA,
    at: dateTime,
  },
} as const;

export const CALL_NOTIFICATION_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'recipient'],
  description:
    '`call` is required for incoming_call and call_cancelled, `missed` for missed_calls, `message` for message, `customType` for custom.',
  properties: {
    id: {
      type: 'string',
      minLength: 1,
      maxLength: 200,
      pattern: '^[A-Za-z0-9._:@+-]+$',
      description: 'idempotency key: a repeated id is answered with the first notification; generated when absent',
    },
    type: { type: 'string', enum: NOTIFICATION_TYPES },
    tenant: {
      type: 'string',
      minLength: 1,
      maxLength: 100,
      description: 'must be the authenticated tenant when given',
    },
    recipient: { type: 'string', minLength: 1, maxLength: 200, description: 'user id whose devices are woken' },
    bindingIds: {
      type: 'array',
      minItems: 1,
      maxItems: 100,
      items: { type: 'string', minLength: 1, maxLength: 200 },
      description: "only these of the recipient's devices",
    },
    call: CALL_SCHEMA,
    missed: { type: 'array', minItems: 1, maxItems: 100, items: MISSED_CALL_SCHEMA },
    message: {
      type: 'object',
      additionalProperties: false,
      properties: {
        title: { type: 'string', minLength: 1, maxLength: 1024 },
        body: { type: 'string', minLength: 1, maxLength: 4096 },
      },
    },
    customType: { type: 'string', minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_]+$' },
    createdAt: { ...dateTime, description: 'default: now' },
    deadline: {
      ...dateTime,
      description:
        'after it the push is useless; later than createdAt, at most 28 days after it; default createdAt + the ring timeout',
    },
    priority: { type: 'string', enum: PRIORITIES, description: 'default: high for calls, normal otherwise' },
    collapseKey: { type: 'string', minLength: 1, description: 'at most 64 bytes in UTF-8' },
    vendor: { type: 'object', additionalProperties: true, description: 'vendor extras a codec may read' },
  },
} as const;

export const COLLAPSE_KEY_MAX_BYTES = 64;
