import { createPrivateKey, type KeyObject } from 'node:crypto';
import { TransportError } from '@pushrelay/core';

/** Which Push Kit send API an app uses. */
export type HmsApi = 'v1' | 'v2' | 'v3';
export const HMS_APIS: readonly HmsApi[] = ['v1', 'v2', 'v3'];

/**
 * A Push Kit service account key (the JSON file AppGallery's API Console hands out). Either
 * the file's own field names or camelCase ones.
 */
export interface HmsServiceAccount {
  keyId?: string;
  subAccount?: string;
  privateKey?: string;
  key_id?: string;
  sub_account?: string;
  private_key?: string;
  project_id?: string;
}

/** One Huawei app the transport can send for. */
export interface HmsAppCredential {
  /** The app id (PushRequest.app); also the OAuth client id unless `clientId` is set. */
  appId: string;
  /** The app secret (OAuth client secret) from AppGallery Connect; needed for v1 and v2. */
  clientSecret?: string;
  clientId?: string;
  /** The project id: `/v2/{projectId}` or `/v3/{projectId}`; v1 uses `/v1/{appId}`. */
  projectId?: string;
  /** Signs the JWT that v3 (HarmonyOS NEXT) takes instead of an OAuth token; the key file's JSON text also works. */
  serviceAccount?: HmsServiceAccount | string;
  /**
   * The API the app's pushes go to unless a request names one (`headers['hms-api']`). Default:
   * v3 for a service account without a client secret, else v2 with a project id, else v1.
   */
  api?: HmsApi;
  /** v3 only: send every push as a test message (`pushOptions.testMessage`). */
  testMessage?: boolean;
}

export interface CheckedServiceAccount {
  keyId: string;
  subAccount: string;
  privateKey: KeyObject;
}

export interface CheckedCredential {
  appId: string;
  clientId: string;
  clientSecret: string | undefined;
  projectId: string | undefined;
  serviceAccount: CheckedServiceAccount | undefined;
  api: HmsApi;
  testMessage: boolean;
}

function fail(field: string, message: string): never {
  throw new TransportError('hms', message, { field });
}

/** A key file's text (as a config reads it from disk) or its parsed object. */
function accountObject(input: unknown, prefix: string): unknown {
  if (typeof input !== 'string') return input;
  try {
    return JSON.parse(input) as unknown;
  } catch {
    fail(prefix, 'is not the JSON of a service account key file');
  }
}

function checkServiceAccount(raw: unknown, prefix: string): CheckedServiceAccount {
  const input = accountObject(raw, prefix);
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    fail(
      prefix,
      'must be an object with keyId, subAccount and privateKey (or the key file: key_id, sub_account, private_key)',
    );
  }
  const s = input as Record<string, unknown>;
  const pick = (camel: string, snake: string): string => {
    const value = s[camel] ?? s[snake];
    if (value === undefined) fail(`${prefix}.${camel}`, 'is missing');
    if (typeof value !== 'string' || value.trim() === '') fail(`${prefix}.${camel}`, 'must be a non-empty string');
    return value;
  };
  const keyId = pick('keyId', 'key_id');
  const subAccount = pick('subAccount', 'sub_account');
  const pem = pick('privateKey', 'private_key');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch {
    fail(`${prefix}.privateKey`, 'is not a PEM private key');
  }
  if (privateKey.asymmetricKeyType !== 'rsa') fail(`${prefix}.privateKey`, 'must be an RSA key (Huawei signs PS256)');
  return { keyId, subAccount, privateKey };
}

/** Validates one credential entry, naming the field that is wrong. */
export function checkCredential(input: unknown, index: number): CheckedCredential {
  const prefix = `credentials[${index}]`;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    fail(prefix, 'must be an object with appId and clientSecret or serviceAccount');
  }
  const c = input as Record<string, unknown>;
  const str = (field: string, required: boolean): string | undefined => {
    const value = c[field];
    if (value === undefined && !required) return undefined;
    if (value === undefined) fail(`${prefix}.${field}`, 'is missing');
    if (typeof value !== 'string' || value.trim() === '') fail(`${prefix}.${field}`, 'must be a non-empty string');
    return value;
  };
  const appId = str('appId', true)!;
  if (!/^[A-Za-z0-9_.-]+$/.test(appId)) fail(`${prefix}.appId`, `is not an app id: ${JSON.stringify(appId)}`);
  const clientSecret = str('clientSecret', false);
  const clientId = str('clientId', false) ?? appId;
  const account =
    c['serviceAccount'] === undefined ? undefined : accountObject(c['serviceAccount'], `${prefix}.serviceAccount`);
  const serviceAccount = account === undefined ? undefined : checkServiceAccount(account, `${prefix}.serviceAccount`);
  const fileProject = (account as Record<string, unknown> | undefined)?.['project_id'];
  const projectId =
    str('projectId', false) ?? (typeof fileProject === 'string' && fileProject ? fileProject : undefined);
  const given = c['api'];
  if (given !== undefined && !HMS_APIS.includes(given as HmsApi)) fail(`${prefix}.api`, 'must be v1, v2 or v3');
  const api: HmsApi =
    (given as HmsApi | undefined) ?? (serviceAccount && !clientSecret ? 'v3' : projectId ? 'v2' : 'v1');
  if (c['testMessage'] !== undefined && typeof c['testMessage'] !== 'boolean') {
    fail(`${prefix}.testMessage`, 'must be a boolean');
  }
  if (!clientSecret && !serviceAccount) fail(`${prefix}.clientSecret`, 'is missing (or give a serviceAccount for v3)');
  if (api !== 'v3' && !clientSecret) fail(`${prefix}.clientSecret`, `is missing (the ${api} API takes an OAuth token)`);
  if (api === 'v2' && !projectId) fail(`${prefix}.projectId`, 'is missing (the v2 API is /v2/{projectId})');
  if (api === 'v3' && !serviceAccount)
    fail(`${prefix}.serviceAccount`, 'is missing (the v3 API takes a service-account JWT)');
  if (api === 'v3' && !projectId) fail(`${prefix}.projectId`, 'is missing (the v3 API is /v3/{projectId})');
  return { appId, clientId, clientSecret, projectId, serviceAccount, api, testMessage: c['testMessage'] === true };
}
