import type { SipRequest } from './message.js';

export type SipParseReason =
  | 'empty'
  | 'bad_start_line'
  | 'bad_version'
  | 'bad_status'
  | 'bad_header'
  | 'missing_header'
  | 'bad_content_length'
  | 'truncated_body'
  | 'too_large'
  | 'bad_cseq'
  | 'bad_uri'
  | 'bad_name_addr'
  | 'bad_via'
  | 'bad_param';

/**
 * Input that is not a SIP message we can use. `reason` is a stable code; `field` names the header
 * or part at fault. When the request line and the headers could be read, `request` holds what was
 * read so that a 400 can still be sent back along its Via.
 */
export class SipParseError extends Error {
  readonly code = 'sip_parse_error';
  readonly reason: SipParseReason;
  readonly field: string | undefined;
  readonly request: SipRequest | undefined;

  constructor(reason: SipParseReason, message: string, options: { field?: string; request?: SipRequest } = {}) {
    super(options.field ? `${options.field}: ${message}` : message);
    this.name = 'SipParseError';
    this.reason = reason;
    this.field = options.field;
    this.request = options.request;
  }
}
