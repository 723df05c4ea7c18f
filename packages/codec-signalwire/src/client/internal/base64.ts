const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const LOOKUP = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;
// The URL-safe alphabet too: some mobile bridges re-encode what they pass on.
LOOKUP['-'.charCodeAt(0)] = 62;
LOOKUP['_'.charCodeAt(0)] = 63;

/**
 * Strict, padded base64 (standard or URL-safe alphabet). Returns undefined on anything else:
 * `atob`'s forgiving rules would accept a truncated string and silently drop bits.
 */
export function decodeBase64(text: string): Uint8Array | undefined {
  const s = text;
  if (s.length % 4 !== 0) return undefined;
  const padding = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((s.length / 4) * 3 - padding);
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    const quad = [0, 0, 0, 0];
    for (let j = 0; j < 4; j++) {
      const code = s.charCodeAt(i + j);
      if (code === 61 /* = */ && i + 4 === s.length && j >= 4 - padding) {
        quad[j] = 0;
        continue;
      }
      const v = code < 128 ? (LOOKUP[code] as number) : -1;
      if (v < 0) return undefined;
      quad[j] = v;
    }
    const n = (quad[0]! << 18) | (quad[1]! << 12) | (quad[2]! << 6) | quad[3]!;
    if (o < out.length) out[o++] = (n >> 16) & 0xff;
    if (o < out.length) out[o++] = (n >> 8) & 0xff;
    if (o < out.length) out[o++] = n & 0xff;
  }
  return out;
}
