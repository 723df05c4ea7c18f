export const CODEC_NAME = 'wazo';

export const WAZO_TYPES = {
  incomingCall: 'incomingCall',
  cancelIncomingCall: 'cancelIncomingCall',
  missedCall: 'missedCall',
  voicemailReceived: 'voicemailReceived',
  messageReceived: 'messageReceived',
} as const;

/** Types only Wazo itself may send; `POST /1.0/mobile/notifications` refuses them (case-sensitive). */
export const RESERVED_TYPES: ReadonlySet<string> = new Set(Object.values(WAZO_TYPES));

/** Types webhookd sends with `items.data_only = true`. */
export const DATA_ONLY_TYPES: ReadonlySet<string> = new Set([
  WAZO_TYPES.cancelIncomingCall,
  WAZO_TYPES.missedCall,
  WAZO_TYPES.voicemailReceived,
  WAZO_TYPES.messageReceived,
]);

export const BUS_EVENTS: Readonly<Record<string, string>> = {
  call_push_notification: WAZO_TYPES.incomingCall,
  call_cancel_push_notification: WAZO_TYPES.cancelIncomingCall,
  user_missed_call: WAZO_TYPES.missedCall,
  user_voicemail_message_created: WAZO_TYPES.voicemailReceived,
  global_voicemail_message_created: WAZO_TYPES.voicemailReceived,
  chatd_user_room_message_created: WAZO_TYPES.messageReceived,
};

export const DEFAULT_CALL_TOPIC = 'org.wazo-platform.voip';
export const DEFAULT_TOPIC = 'org.wazo-platform';
export const ANDROID_CHANNEL_ID = 'io.wazo.songbird';
