import { createSign } from 'node:crypto';
import type { ServiceAccount } from './service-account.js';

export const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
export const ASSERTION_LIFETIME_S = 3600;

function base64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}

/** The RS256 JWT a service account presents to Google's token endpoint (JWT bearer grant). */
export function signAssertion(sa: ServiceAccount, audience: string, nowMs: number): string {
  const iat = Math.floor(nowMs / 1000);
  const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: sa.privateKeyId }));
  const claims = base64url(
    JSON.stringify({ iss: sa.clientEmail, scope: FCM_SCOPE, aud: audience, iat, exp: iat + ASSERTION_LIFETIME_S }),
  );
  const signer = createSign('RSA-SHA256');
  signer.update(`${header}.${claims}`);
  return `${header}.${claims}.${base64url(signer.sign(sa.privateKey))}`;
}
