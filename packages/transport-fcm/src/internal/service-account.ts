import { createPrivateKey, type KeyObject } from 'node:crypto';
import { TransportError } from '@pushrelay/core';

/** The fields of a Google service-account key file the transport uses. */
export interface ServiceAccount {
  projectId: string;
  clientEmail: string;
  privateKeyId: string;
  privateKey: KeyObject;
  tokenUri: string;
}

const FIELD_PREFIX = 'serviceAccount';

function fail(field: string, message: string, cause?: unknown): never {
  throw new TransportError('fcm', message, { field: `${FIELD_PREFIX}.${field}`, cause });
}

function requireString(json: Record<string, unknown>, field: string): string {
  const value = json[field];
  if (value === undefined) fail(field, 'is missing');
  if (typeof value !== 'string' || value.trim() === '') fail(field, 'must be a non-empty string');
  return value;
}

/**
 * Checks a service-account key file (JSON text or parsed object) and returns the parts the
 * transport needs, so a broken credential fails when the transport is built, not at first send.
 */
export function parseServiceAccount(input: unknown): ServiceAccount {
  let json: unknown = input;
  if (typeof input === 'string') {
    try {
      json = JSON.parse(input);
    } catch (error) {
      throw new TransportError('fcm', `is not valid JSON (${(error as Error).message})`, {
        field: FIELD_PREFIX,
        cause: error,
      });
    }
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new TransportError('fcm', 'must be a JSON object', { field: FIELD_PREFIX });
  }
  const sa = json as Record<string, unknown>;
  if (sa['type'] !== undefined && sa['type'] !== 'service_account') {
    fail('type', `must be "service_account", got ${JSON.stringify(sa['type'])}`);
  }
  const projectId = requireString(sa, 'project_id');
  const clientEmail = requireString(sa, 'client_email');
  if (!clientEmail.includes('@')) fail('client_email', 'is not an e-mail address');
  const privateKeyId = requireString(sa, 'private_key_id');
  const pem = requireString(sa, 'private_key');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (error) {
    fail('private_key', `is not a PEM private key (${(error as Error).message})`, error);
  }
  if (privateKey.asymmetricKeyType !== 'rsa') {
    fail('private_key', `must be an RSA key, got ${privateKey.asymmetricKeyType ?? 'unknown'}`);
  }
  const tokenUri = requireString(sa, 'token_uri');
  let url: URL;
  try {
    url = new URL(tokenUri);
  } catch (error) {
    fail('token_uri', `is not a URL: ${JSON.stringify(tokenUri)}`, error);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') fail('token_uri', 'must be an http(s) URL');
  return { projectId, clientEmail, privateKeyId, privateKey, tokenUri };
}
