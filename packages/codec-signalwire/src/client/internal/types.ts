/**
 * The SignalWire push as every platform carries it: all values are strings.
 * `iv`, `tag` and `invite` are base64.
 */
export interface SignalWirePushPayload {
  version: string;
  type: string;
  title: string;
  notification_uuid: string;
  incoming_caller_id: string;
  incoming_caller_name: string;
  with_video: string;
  encryption_type: 'aes_256_gcm' | 'none';
  iv: string;
  tag: string;
  invite: string;
}

/** The inner JSON-RPC call of a verto invite, the part the SignalWire SDK reads. */
export interface VertoInviteParams {
  callID: string;
  sdp: string;
  caller_id_name?: string;
  caller_id_number?: string;
  callee_id_name?: string;
  callee_id_number?: string;
  display_direction?: string;
  [key: string]: unknown;
}

/** What the encrypted `invite` field holds once decrypted and inflated. */
export interface VertoInvite {
  node_id?: string;
  params: {
    jsonrpc?: string;
    id?: string | number;
    method: string;
    params: VertoInviteParams;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export const PAYLOAD_FIELDS = [
  'version',
  'type',
  'title',
  'notification_uuid',
  'incoming_caller_id',
  'incoming_caller_name',
  'with_video',
  'encryption_type',
  'iv',
  'tag',
  'invite',
] as const;

/** 256 KiB: a verto invite is an SDP of a few KiB; anything far larger is a decompression bomb. */
export const DEFAULT_MAX_INVITE_BYTES = 256 * 1024;
