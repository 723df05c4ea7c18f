/** The gateway's JSON API with the tenant's key in the Authorization header (never in a URL). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class Api {
  constructor(readonly key: string) {}

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.key}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(path, {
      method,
      headers,
      cache: 'no-store',
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    const parsed = text ? (JSON.parse(text) as unknown) : undefined;
    if (!res.ok) {
      const e = (parsed ?? {}) as { error?: string; message?: string };
      throw new ApiError(res.status, e.error ?? 'http_error', e.message ?? `HTTP ${res.status}`);
    }
    return parsed as T;
  }

  /**
   * Reads a Server-Sent Events stream with fetch (EventSource cannot send an Authorization
   * header). Resolves when the stream ends; rejects on an HTTP error or a broken connection.
   */
  async stream(path: string, onEvent: (name: string, data: unknown) => void, signal: AbortSignal): Promise<void> {
    const res = await fetch(path, {
      headers: { authorization: `Bearer ${this.key}`, accept: 'text/event-stream' },
      cache: 'no-store',
      signal,
    });
    if (!res.ok || !res.body) throw new ApiError(res.status, 'stream_refused', `HTTP ${res.status}`);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let name = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) name = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
        }
        if (data.length === 0) continue;
        try {
          onEvent(name, JSON.parse(data.join('\n')) as unknown);
        } catch {
          // A malformed event is skipped; the next one still counts.
        }
      }
    }
  }
}

/** Keeps a stream open, reconnecting with a growing delay, until the signal aborts. */
export function keepStreaming(
  api: Api,
  path: string,
  onEvent: (name: string, data: unknown) => void,
  signal: AbortSignal,
  onState: (open: boolean) => void = () => {},
): void {
  let delay = 500;
  const loop = async () => {
    while (!signal.aborted) {
      try {
        const opened = api.stream(path, onEvent, signal);
        onState(true);
        delay = 500;
        await opened;
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) return onState(false);
      }
      onState(false);
      if (signal.aborted) return;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 10_000);
    }
  };
  void loop();
}
