import { startDemo, type Demo, type DemoOptions } from '../demo/demo.js';

export interface Stack extends Demo {
  /** JSON request to the gateway with the demo tenant's key unless `key` says otherwise. */
  call(
    method: string,
    path: string,
    options?: { body?: unknown; raw?: string; key?: string | null; headers?: Record<string, string> },
  ): Promise<{ status: number; body: any; headers: Headers }>;
}

export async function startStack(options: DemoOptions = {}): Promise<Stack> {
  const demo = await startDemo({ logger: false, ...options });
  const call: Stack['call'] = async (method, path, o = {}) => {
    const headers: Record<string, string> = { ...o.headers };
    const key = o.key === undefined ? demo.apiKey : o.key;
    if (key !== null) headers.authorization = `Bearer ${key}`;
    let body: string | undefined;
    if (o.raw !== undefined) body = o.raw;
    else if (o.body !== undefined) body = JSON.stringify(o.body);
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    const res = await fetch(`${demo.url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    return { status: res.status, body: parsed, headers: res.headers };
  };
  return { ...demo, call };
}

export const IOS_TOKEN = 'ab'.repeat(32);
export const ANDROID_TOKEN = 'fcm-token-android-1:APA91b' + 'x'.repeat(60);
