import { createHmac } from 'node:crypto';
import { safeEqual } from './auth.js';

export type JwtResult = { ok: true; claims: Record<string, unknown> } | { ok: false; reason: string };

/** Verifies a compact HS256 JWT (signature, `exp`, `nbf`); nothing else is accepted. */
export function verifyHs256(token: string, secret: string, nowMs: number): JwtResult {
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, reason: 'not a compact JWT' };
  const [h, p, s] = parts as [string, string, string];
  let header: unknown;
  let claims: unknown;
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'JWT header or payload is not JSON' };
  }
  if (!isObject(header) || header.alg !== 'HS256') return { ok: false, reason: 'JWT alg must be HS256' };
  if (!isObject(claims)) return { ok: false, reason: 'JWT payload must be an object' };
  const expected = createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url');
  if (!safeEqual(expected, s)) return { ok: false, reason: 'JWT signature does not match' };
  const now = Math.floor(nowMs / 1000);
  if (typeof claims.exp === 'number' && now >= claims.exp) return { ok: false, reason: 'JWT expired' };
  if (typeof claims.nbf === 'number' && now < claims.nbf) return { ok: false, reason: 'JWT not valid yet' };
  return { ok: true, claims };
}

export function signHs256(claims: Record<string, unknown>, secret: string): string {
  const h = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
  const p = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${h}.${p}.${createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url')}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
