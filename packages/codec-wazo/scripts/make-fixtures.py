# Writes the golden fixtures by emulating wazo-webhookd (services/mobile/plugin.py) with the real
# json.dumps, after checking the emulation reproduces the published examples.
# Usage: python3 scripts/make-fixtures.py [fixtures dir]
import json, sys, os, copy
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "fixtures")
os.makedirs(out + '/clock', exist_ok=True)
TS = "2024-08-06T12:00:00.123456+00:00"
NOW = "2024-08-06T12:00:00.123Z"
EX = [
 '{"message":{"android":{"priority":"high","ttl":"0s"},"data":{"items":"{\\"call_id\\":\\"1560784195.313\\",\\"mobile_wakeup_timestamp\\":\\"2024-08-06T11:59:59.999+00:00\\",\\"notification_timestamp\\":\\"2024-08-06T12:00:00.123456+00:00\\",\\"peer_caller_id_name\\":\\"Alice\\",\\"peer_caller_id_number\\":\\"8001\\",\\"ring_timeout\\":\\"30\\",\\"sip_call_id\\":\\"de9eb39fb7585796\\",\\"video\\":false}","notification_type":"incomingCall"},"token":"FCM_TOKEN"}}',
 '{"message":{"android":{"priority":"high","ttl":"0s"},"data":{"items":"{\\"caller_id_name\\":\\"Alice\\",\\"caller_id_number\\":\\"8001\\",\\"data_only\\":true,\\"notification_timestamp\\":\\"2024-08-06T12:00:00.123456+00:00\\"}","notification_type":"missedCall"},"token":"T"}}',
 '{"message":{"android":{"notification":{"body":"test message","channel_id":"io.wazo.songbird","notification_count":1,"title":"test title"},"priority":"high","ttl":"0s"},"data":{"items":"","notification_type":"plugin","plugin":"test"},"token":"token-android"}}',
]
EX = [json.loads(e) for e in EX]

def dumps(v): return json.dumps(v, separators=(',', ':'), sort_keys=True)

def binding(provider, kind, token, params=None):
    b = {"id": f"{provider}-{kind}", "tenant": "tenant-1", "userId": "u-1", "provider": provider, "token": token,
         "app": "org.wazo-platform" if provider == "apns" else "wazo-project", "environment": "production",
         "pushKind": kind, "format": "wazo", "origin": "api",
         "createdAt": "2024-08-01T00:00:00.000Z", "updatedAt": "2024-08-01T00:00:00.000Z"}
    if params: b["params"] = params
    return b

def fcm_req(b, msg):
    m = dict(msg); m.pop("token", None)
    return {"provider": "fcm", "token": b["token"], "app": b["app"], "environment": "production", "pushType": "alert",
            "priority": "high", "expiresAt": None, "payload": m}

def apns_req(b, voip, topic, payload):
    return {"provider": "apns", "token": b["token"], "app": b["app"], "environment": "production",
            "pushType": "voip" if voip else "alert", "priority": "high" if voip else "normal", "expiresAt": None,
            "headers": {"apns-topic": topic}, "payload": payload}

# webhookd emulation (services/mobile/plugin.py), used only to write expected values
def wazo_data(ntype, items, extra=None, data_only=False):
    d = {"notification_type": ntype, "items": items}
    d.update(extra or {})
    if data_only: d["items"]["data_only"] = True
    return d

def fcm_msg(d, title=None, body=None, kind="custom"):
    data = dict(d)
    data["items"] = dumps(d["items"]) if d["items"] else ""
    android = {"priority": "high", "ttl": "0s"}
    if kind == "custom":
        n = {}
        if body: n["body"] = body
        if title: n["title"] = title
        n["channel_id"] = "io.wazo.songbird"; n["notification_count"] = 1
        android["notification"] = n
    return {"android": android, "data": data}

def apns_payload(d, title=None, body=None, data_only=False):
    t = d["notification_type"]
    if t == "incomingCall": return {"aps": {"alert": d, "badge": 1}, **d}
    if t == "cancelIncomingCall": return {"aps": {"badge": 1, "sound": "default", "content-available": 1}, **d}
    aps = {"badge": 1, "sound": "default"}
    if data_only: aps["content-available"] = 1
    if title or body:
        a = {}
        if title: a["title"] = title
        if body: a["body"] = body
        aps["alert"] = a
    return {"aps": aps, "data": d}

def w(name, f):
    with open(f"{out}/{name}", "w") as fh: fh.write(json.dumps(f, indent=2, ensure_ascii=False) + "\n")

CALL = {"peer_caller_id_number": "8001", "peer_caller_id_name": "Alice", "call_id": "1560784195.313", "video": False,
        "ring_timeout": "30", "sip_call_id": "de9eb39fb7585796", "mobile_wakeup_timestamp": "2024-08-06T11:59:59.999+00:00"}
call_notification = {"id": "incomingCall:1560784195.313", "type": "incoming_call", "tenant": "tenant-1", "recipient": "u-1",
    "call": {"id": "1560784195.313", "from": {"number": "8001", "displayName": "Alice"}, "video": False, "startedAt": NOW},
    "createdAt": NOW, "deadline": "2024-08-06T12:00:30.123Z", "priority": "high", "vendor": {"wazo": {"items": CALL}}}
bus_call = {"name": "call_push_notification", "origin_uuid": "my-origin-uuid", "user_uuid:u-1": True, "data": CALL}

fcm = binding("fcm", "data", "FCM_TOKEN")
d = wazo_data("incomingCall", {**CALL, "notification_timestamp": TS})
assert {"message": {**fcm_msg(d, kind="call"), "token": "FCM_TOKEN"}} == EX[0]
w("incoming-call-fcm-reference.json", {"description": "vendor-formats.md 1, FCM incomingCall: a call_push_notification bus event in, webhookd's FCM v1 message out",
   "decode": {"input": bus_call, "now": NOW, "expected": [call_notification]},
   "encode": {"notification": call_notification, "binding": fcm, "now": NOW, "expected": fcm_req(fcm, EX[0]["message"])}})

cancel_n = {**copy.deepcopy(call_notification), "id": "cancelIncomingCall:1560784195.313", "type": "call_cancelled"}
d = wazo_data("cancelIncomingCall", {**CALL, "notification_timestamp": TS}, data_only=True)
fcm_t = binding("fcm", "data", "FCM_TOKEN")
w("cancel-incoming-call-fcm-reference.json", {"description": "vendor-formats.md 1: cancelIncomingCall = the incomingCall example plus data_only true",
   "decode": {"input": {**bus_call, "name": "call_cancel_push_notification"}, "now": NOW, "expected": [cancel_n]},
   "encode": {"notification": cancel_n, "binding": fcm_t, "now": NOW, "expected": fcm_req(fcm_t, fcm_msg(d, kind="data"))}})

voip = binding("apns", "voip", "apns-voip-token")
d = wazo_data("incomingCall", {**CALL, "notification_timestamp": TS})
w("incoming-call-apns-voip.json", {"description": "APNs incomingCall: VoIP, priority 10, call topic, expiration 0, envelope in aps.alert and at the top, badge 1",
   "encode": {"notification": call_notification, "binding": voip, "now": NOW, "expected": apns_req(voip, True, "org.wazo-platform.voip", apns_payload(d))}})
voip2 = binding("apns", "voip", "apns-voip-token", {"apns_call_topic": "com.example.phone.voip"})
w("incoming-call-apns-topic-override.json", {"description": "a device's apns_call_topic replaces the default call topic",
   "encode": {"notification": call_notification, "binding": voip2, "now": NOW, "expected": apns_req(voip2, True, "com.example.phone.voip", apns_payload(d))}})
alert = binding("apns", "alert", "apns-notification-token")
w("incoming-call-apns-alert-token.json", {"description": "Wazo sends calls only to the PushKit token",
   "encode": {"notification": call_notification, "binding": alert, "now": NOW, "expected": None}})
d = wazo_data("cancelIncomingCall", {**CALL, "notification_timestamp": TS}, data_only=True)
w("cancel-incoming-call-apns.json", {"description": "APNs cancelIncomingCall: alert push on the default topic, badge, sound, content-available, envelope at the top",
   "encode": {"notification": cancel_n, "binding": alert, "now": NOW, "expected": apns_req(alert, False, "org.wazo-platform", apns_payload(d))}})

missed_event = {"name": "user_missed_call", "user_uuid:u-1": True, "data": {"user_uuid": "u-1", "caller_user_uuid": None, "caller_id_name": "Alice", "caller_id_number": "8001", "dialed_extension": "1001", "conversation_id": "1722945590.42", "reason": "no-answer", "hangup_cause": 19}}
missed_n = {"id": "missedCall:1722945590.42", "type": "missed_calls", "tenant": "tenant-1", "recipient": "u-1",
    "missed": [{"callId": "1722945590.42", "from": {"number": "8001", "displayName": "Alice"}, "at": NOW}],
    "createdAt": NOW, "deadline": "2024-08-06T12:01:00.123Z", "priority": "normal",
    "vendor": {"wazo": {"items": {"caller_id_name": "Alice", "caller_id_number": "8001"}}}}
fcmT = binding("fcm", "data", "T")
d = wazo_data("missedCall", {"notification_timestamp": TS, "caller_id_name": "Alice", "caller_id_number": "8001"}, data_only=True)
assert {"message": {**fcm_msg(d, kind="data"), "token": "T"}} == EX[1]
w("missed-call-fcm-reference.json", {"description": "vendor-formats.md 1, FCM missedCall: only caller_id_name and caller_id_number survive",
   "decode": {"input": missed_event, "now": NOW, "expected": [missed_n]},
   "encode": {"notification": missed_n, "binding": fcmT, "now": NOW, "expected": fcm_req(fcmT, EX[1]["message"])}})
w("missed-call-apns.json", {"description": "APNs missedCall: title Missed Call, body From: name (number), content-available, envelope under data",
   "encode": {"notification": missed_n, "binding": alert, "now": NOW, "expected": apns_req(alert, False, "org.wazo-platform", apns_payload(d, "Missed Call", "From: Alice (8001)", True))}})
missed_anon = {**copy.deepcopy(missed_n), "missed": [{"callId": "c-9", "from": {"uri": "sip:anonymous@invalid"}, "at": NOW}]}
del missed_anon["vendor"]
d = wazo_data("missedCall", {"notification_timestamp": TS, "caller_id_name": None, "caller_id_number": None}, data_only=True)
w("missed-call-anonymous.json", {"description": "an anonymous caller: null name and number, '<name unknown>' in the body",
   "encode": {"notification": missed_anon, "binding": alert, "now": NOW, "expected": apns_req(alert, False, "org.wazo-platform", apns_payload(d, "Missed Call", "From: <name unknown> (<number unknown>)", True))}})

VM = {"user_uuid": "u-1", "voicemail_id": 3, "message_id": "1722945500-00000001",
      "message": {"id": "1722945500-00000001", "caller_id_name": "Bob", "caller_id_num": "8002", "duration": 12, "timestamp": 1722945500, "folder": {"id": 1, "name": "inbox", "type": "new"}}}
vm_n = {"id": "voicemailReceived:1722945500-00000001", "type": "voicemail", "tenant": "tenant-1", "recipient": "u-1",
    "message": {"title": "New Voicemail", "body": "From: Bob (8002)"}, "createdAt": NOW, "deadline": "2024-08-06T12:01:00.123Z",
    "priority": "normal", "vendor": {"wazo": {"items": VM}}}
d = wazo_data("voicemailReceived", {**VM, "notification_timestamp": TS}, data_only=True)
w("voicemail-fcm.json", {"description": "user_voicemail_message_created: data-only FCM, items sorted with nested objects",
   "decode": {"input": {"name": "user_voicemail_message_created", "data": VM}, "now": NOW, "expected": [vm_n]},
   "encode": {"notification": vm_n, "binding": fcmT, "now": NOW, "expected": fcm_req(fcmT, fcm_msg(d, kind="data"))}})
w("voicemail-apns.json", {"description": "APNs voicemailReceived: New Voicemail, From: Bob (8002)",
   "encode": {"notification": vm_n, "binding": alert, "now": NOW, "expected": apns_req(alert, False, "org.wazo-platform", apns_payload(d, "New Voicemail", "From: Bob (8002)", True))}})

CHAT = {"uuid": "3f1c2a9e-0d4b-4e8f-9a51-7c2d1e0f4b6a", "content": "Caf\u00e9 \u2615 ready? \U0001F600 " + "x" * 90, "alias": "Z\u00f6e",
        "user_uuid": "u-2", "tenant_uuid": "tenant-1", "created_at": "2024-08-06T11:59:58.000000+00:00", "room": {"uuid": "r-1"}}
body = CHAT["content"][:97] + "..."
chat_n = {"id": "messageReceived:3f1c2a9e-0d4b-4e8f-9a51-7c2d1e0f4b6a", "type": "message", "tenant": "tenant-1", "recipient": "u-1",
    "message": {"title": "New Message from Z\u00f6e", "body": body}, "createdAt": NOW, "deadline": "2024-08-06T12:01:00.123Z",
    "priority": "normal", "vendor": {"wazo": {"items": CHAT}}}
d = wazo_data("messageReceived", {**CHAT, "notification_timestamp": TS}, data_only=True)
w("message-fcm-non-ascii.json", {"description": "chat message: non-ASCII as \\uXXXX in data.items (ensure_ascii), emoji as a surrogate pair, body cut to 97 characters + ...",
   "decode": {"input": {"name": "chatd_user_room_message_created", "user_uuid": "u-1", "data": CHAT}, "now": NOW, "expected": [chat_n]},
   "encode": {"notification": chat_n, "binding": fcmT, "now": NOW, "expected": fcm_req(fcmT, fcm_msg(d, kind="data"))}})
w("message-apns.json", {"description": "APNs messageReceived",
   "encode": {"notification": chat_n, "binding": alert, "now": NOW, "expected": apns_req(alert, False, "org.wazo-platform", apns_payload(d, "New Message from Z\u00f6e", body, True))}})
w("message-from-self.json", {"description": "webhookd does not push a chat message to the user who sent it",
   "decode": {"input": {"name": "chatd_user_room_message_created", "user_uuid": "u-2", "data": CHAT}, "now": NOW, "expected": []}})

api = {"title": "Example notification", "body": "This is an example notification", "notification_type": "exampleNotification", "extra": {"mykey": "myvalue"}, "user_uuid": "123e4567-e89b-12d3-a456-426614174000"}
api_n_noid = {"type": "custom", "tenant": "tenant-1", "recipient": "123e4567-e89b-12d3-a456-426614174000",
    "message": {"title": "Example notification", "body": "This is an example notification"}, "customType": "exampleNotification",
    "createdAt": NOW, "deadline": "2024-08-06T12:01:00.123Z", "priority": "normal", "vendor": {"wazo": {"extra": {"mykey": "myvalue"}}}}
import hashlib
def content_id(prefix, tenant, now_ms, inp):
    return prefix + ":" + hashlib.sha256(f"{tenant}\n{now_ms}\n{dumps(inp)}".encode()).hexdigest()[:24]
NOW_MS = 1722945600123
api_n = {"id": content_id("wazo-api", "tenant-1", NOW_MS, api), **api_n_noid}
fcm_a = binding("fcm", "data", "FCM_TOKEN")
d = wazo_data("exampleNotification", {}, {"mykey": "myvalue"})
w("api-example-seed-fcm.json", {"description": "seed 001: the curl example to POST /1.0/mobile/notifications; extra lands beside items, items empty",
   "decode": {"input": api, "now": NOW, "expected": [api_n]},
   "encode": {"notification": api_n, "binding": fcm_a, "now": NOW, "expected": fcm_req(fcm_a, fcm_msg(d, "Example notification", "This is an example notification"))}})
w("api-example-seed-apns.json", {"description": "seed 001 on iOS: alert on the default topic, title and body, envelope under data",
   "encode": {"notification": api_n, "binding": alert, "now": NOW, "expected": apns_req(alert, False, "org.wazo-platform", apns_payload(d, "Example notification", "This is an example notification"))}})

plugin_api = {"notification_type": "plugin", "user_uuid": "123e4567-e89b-12d3-a456-426614174000", "title": "test title", "body": "test message", "extra": {"plugin": "test"}}
plugin_n = {"id": content_id("wazo-api", "tenant-1", NOW_MS, plugin_api), **api_n_noid, "message": {"title": "test title", "body": "test message"}, "customType": "plugin", "vendor": {"wazo": {"extra": {"plugin": "test"}}}}
tok = binding("fcm", "data", "token-android")
d = wazo_data("plugin", {}, {"plugin": "test"})
assert {"message": {**fcm_msg(d, "test title", "test message"), "token": "token-android"}} == EX[2]
w("api-plugin-fcm-reference.json", {"description": "vendor-formats.md 1 and webhookd's integration test: custom type with a title gets android.notification on io.wazo.songbird",
   "decode": {"input": plugin_api, "now": NOW, "expected": [plugin_n]},
   "encode": {"notification": plugin_n, "binding": tok, "now": NOW, "expected": fcm_req(tok, EX[2]["message"])}})
PLUGIN_OBJ = {"id": "test", "entityId": "test-plugin", "action": "test", "payload": {}}
plugin_ios_n = {**copy.deepcopy(plugin_n), "id": "plugin-ios-1", "vendor": {"wazo": {"extra": {"plugin": PLUGIN_OBJ}}}}
d = wazo_data("plugin", {}, {"plugin": PLUGIN_OBJ})
expected_ios = {"aps": {"badge": 1, "sound": "default", "alert": {"title": "test title", "body": "test message"}},
                "data": {"notification_type": "plugin", "items": {}, "plugin": PLUGIN_OBJ}}
assert apns_payload(d, "test title", "test message") == expected_ios
w("api-plugin-apns-integration-test.json", {"description": "webhookd's iOS integration test: an object in extra stays an object on APNs",
   "encode": {"notification": plugin_ios_n, "binding": alert, "now": NOW, "expected": apns_req(alert, False, "org.wazo-platform", expected_ios)}})

w("malformed-reserved-type.json", {"description": "reserved types are refused on the API", "malformed": {"input": {**api, "notification_type": "incomingCall"}, "error": 'notification_type: The type "incomingCall" is a reserved type.'}})
w("malformed-integration-test.json", {"description": "webhookd's invalid-request test: every problem reported",
   "malformed": {"input": {"notification_type": "incomingCall", "user_uuid": "", "extra": ""}, "error": "notification_type: The type \"incomingCall\" is a reserved type.; user_uuid: Length must be 36.; title: Missing data for required field.; body: Missing data for required field.; extra: Not a valid mapping type."}})
w("malformed-body-too-long.json", {"description": "body over 250 characters", "malformed": {"input": {**api, "body": "b" * 251}, "error": "body: Longer than maximum length 250."}})
w("malformed-type-pattern.json", {"description": "notification_type outside [a-z0-9_] (case-insensitive)", "malformed": {"input": {**api, "notification_type": "my-type"}, "error": "notification_type: String does not match expected pattern."}})
w("malformed-unknown-field.json", {"description": "marshmallow refuses unknown fields", "malformed": {"input": {**api, "priority": "high"}, "error": "priority: Unknown field."}})
w("malformed-unknown-event.json", {"description": "a bus event Wazo does not push", "malformed": {"input": {"name": "call_created", "data": {}}, "error": 'name: "call_created" is not an event Wazo pushes to phones'}})
w("malformed-event-no-user.json", {"description": "a call event for nobody", "malformed": {"input": {"name": "call_push_notification", "data": CALL}, "error": "user_uuid: the event does not say which user"}})
w("malformed-ring-timeout.json", {"description": "ring_timeout that is no number of seconds", "malformed": {"input": {**bus_call, "data": {**CALL, "ring_timeout": "soon"}}, "error": "data.ring_timeout: must be whole seconds"}})

# clock/: the default timestamp from the send time, Python isoformat
for name, now, ts in [("timestamp-milliseconds.json", "2024-08-06T12:00:00.123Z", "2024-08-06T12:00:00.123000+00:00"),
                      ("timestamp-whole-second.json", "2024-08-06T12:00:00.000Z", "2024-08-06T12:00:00+00:00")]:
    d = wazo_data("missedCall", {"notification_timestamp": ts, "caller_id_name": "Alice", "caller_id_number": "8001"}, data_only=True)
    with open(f"{out}/clock/{name}", "w") as fh:
        fh.write(json.dumps({"description": f"notification_timestamp of a send at {now}: {ts}",
            "encode": {"notification": missed_n, "binding": fcmT, "now": now, "expected": fcm_req(fcmT, fcm_msg(d, kind="data"))}}, indent=2, ensure_ascii=False) + "\n")
print("ok")
