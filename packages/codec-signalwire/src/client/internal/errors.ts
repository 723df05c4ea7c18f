export type SignalWirePushErrorCode =
  /** Not a SignalWire push, or a field is missing, not a string, or not base64. */
  | 'malformed'
  /** The device key is not base64 of 16, 24 or 32 bytes. */
  | 'bad_key'
  /** AES-GCM authentication failed: wrong key, or iv, tag or invite were altered. */
  | 'decrypt_failed'
  /** The decrypted bytes are no zlib stream, no UTF-8 or no JSON verto invite. */
  | 'inflate_failed'
  /** The inflated invite is larger than the limit. */
  | 'too_large'
  /** An encryption type this decoder does not know, or no WebCrypto in this runtime. */
  | 'unsupported';

/** Every failure of the client decoder; `field` names the payload field at fault when there is one. */
export class SignalWirePushError extends Error {
  readonly code: SignalWirePushErrorCode;
  readonly field: string | undefined;
  constructor(code: SignalWirePushErrorCode, message: string, options?: { field?: string; cause?: unknown }) {
    super(options?.field ? `${options.field}: ${message}` : message, options);
    this.name = 'SignalWirePushError';
    this.code = code;
    this.field = options?.field;
  }
}
