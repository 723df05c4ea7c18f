import { TransportError } from '@pushrelay/core';

/** One Huawei app the transport can send for. */
export interface HmsAppCredential {
  /** The app id (PushRequest.app); also the OAuth client id unless `clientId` is set. */
  appId: string;
  /** The app secret (OAuth client secret) from AppGallery Connect. */
  clientSecret: string;
  clientId?: string;
  /** Send through `/v2/{projectId}/messages:send` instead of `/v1/{appId}/messages:send`. */
  projectId?: string;
}

export interface CheckedCredential {
  appId: string;
  clientId: string;
  clientSecret: string;
  projectId: string | undefined;
}

/** Validates one credential entry, naming the field that is wrong. */
export function checkCredential(input: unknown, index: number): CheckedCredential {
  const prefix = `credentials[${index}]`;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new TransportError('hms', 'must be an object with appId and clientSecret', { field: prefix });
  }
  const c = input as Record<string, unknown>;
  const str = (field: string, required: boolean): string | undefined => {
    const value = c[field];
    if (value === undefined && !required) return undefined;
    if (value === undefined) throw new TransportError('hms', 'is missing', { field: `${prefix}.${field}` });
    if (typeof value !== 'string' || value.trim() === '') {
      throw new TransportError('hms', 'must be a non-empty string', { field: `${prefix}.${field}` });
    }
    return value;
  };
  const appId = str('appId', true)!;
  if (!/^[A-Za-z0-9_.-]+$/.test(appId)) {
    throw new TransportError('hms', `is not an app id: ${JSON.stringify(appId)}`, { field: `${prefix}.appId` });
  }
  const clientSecret = str('clientSecret', true)!;
  const clientId = str('clientId', false) ?? appId;
  const projectId = str('projectId', false);
  return { appId, clientId, clientSecret, projectId };
}
