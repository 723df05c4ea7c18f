/**
 * Byte-exact equivalents of the Python calls wazo-webhookd makes, so a Wazo app that compares
 * or parses strings sees what it would get from Wazo itself.
 */

export class PythonJsonError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

function escapeString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    // ensure_ascii: everything outside printable ASCII (space to ~) as \uXXXX of UTF-16 units,
    // lowercase hex, astral characters as surrogate pairs.
    else if (c < 0x20 || c > 0x7e) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += s[i];
  }
  return `${out}"`;
}

/** Python's float repr: shortest round-trip digits, exponent form below 1e-4 and from 1e16. */
function formatNumber(n: number, path: string): string {
  if (!Number.isFinite(n)) throw new PythonJsonError(path, 'is not a finite number');
  if (Number.isInteger(n)) {
    // A JSON integer: Python prints every digit. (A float like 2.0 arrives here as 2; see README.)
    return Object.is(n, -0) ? '0' : BigInt(n).toString();
  }
  const [mantissa, expText] = n.toExponential().split('e') as [string, string];
  const exp = Number(expText);
  if (exp < -4 || exp >= 16) {
    return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '').replace('.', '');
  let text: string;
  if (exp < 0) text = `0.${'0'.repeat(-exp - 1)}${digits}`;
  else if (digits.length > exp + 1) text = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  else text = `${digits}${'0'.repeat(exp + 1 - digits.length)}.0`;
  return negative ? `-${text}` : text;
}

/** Python sorts str keys by code point; JS sorts by UTF-16 unit, which differs past U+FFFF. */
function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done && y.done ? 0 : x.done ? -1 : 1;
    const d = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (d !== 0) return d;
  }
}

function dump(value: unknown, path: string, depth: number): string {
  if (depth > 100) throw new PythonJsonError(path, 'nests too deeply');
  if (value === null) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (typeof value === 'string') return escapeString(value);
  if (typeof value === 'number') return formatNumber(value, path);
  if (Array.isArray(value)) {
    return `[${value.map((v, i) => dump(v, `${path}[${i}]`, depth + 1)).join(',')}]`;
  }
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort(compareCodePoints);
    return `{${keys.map((k) => `${escapeString(k)}:${dump(obj[k], path ? `${path}.${k}` : k, depth + 1)}`).join(',')}}`;
  }
  throw new PythonJsonError(path, `cannot be serialised (${typeof value})`);
}

/** `json.dumps(value, separators=(',', ':'), sort_keys=True)` with the default ensure_ascii=True. */
export function pythonJsonDumps(value: unknown, path = ''): string {
  return dump(value, path, 0);
}

/** Python truthiness of a JSON value, as in `if data_payload := data.get('items')`. */
export function pythonTruthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

/** `str(value)` as an f-string shows it: None, True, False. */
export function pythonStr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return formatNumber(value, '');
  return JSON.stringify(value);
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/**
 * `datetime.now(tz=timezone.utc).isoformat()`: microseconds, `+00:00`, and no fraction at all
 * when the microseconds are zero.
 */
export function pythonIsoformat(epochMs: number): string {
  const d = new Date(epochMs);
  const base =
    `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}` +
    `T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  const micros = Math.round((epochMs - Math.floor(epochMs / 1000) * 1000) * 1000);
  return `${base}${micros === 0 ? '' : `.${pad(micros, 6)}`}+00:00`;
}

/** Length as Python counts it (code points), for webhookd's `Length(max=...)` rules. */
export function pythonLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}
