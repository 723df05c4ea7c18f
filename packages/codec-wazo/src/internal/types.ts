/** What the codec keeps in `notification.vendor.wazo` to re-emit Wazo's data unchanged. */
export interface WazoVendorData {
  /**
   * The event data as Wazo sent it (`items`): for calls `sip_call_id`, `mobile_wakeup_timestamp`,
   * `ring_timeout` (a string), for voicemails the message, for chats the chatd message.
   */
  items?: unknown;
  /** Top-level keys of a custom push's `extra` other than `items` (they land beside `items`). */
  extra?: Record<string, unknown>;
}

/** Body of `POST /1.0/mobile/notifications`. */
export interface WazoNotificationRequest {
  notification_type: string;
  user_uuid: string;
  title: string;
  body: string;
  extra?: Record<string, unknown>;
}

/** A Wazo bus message as wazo-webhookd consumes it. */
export interface WazoBusEvent {
  name: string;
  data: Record<string, unknown>;
  origin_uuid?: string;
  /** The user whose devices get the push; the bus carries it as a `user_uuid:<uuid>: true` key too. */
  user_uuid?: string;
  [header: string]: unknown;
}
