import { randomUUID } from 'node:crypto';
import { pyJsonDumps, type PyJson } from './py-json.js';

// The bytes oslo.messaging's rabbit driver puts on the wire for a notification
// (oslo_messaging/notify/notifier.py Notifier._notify, _drivers/amqpdriver.py AMQPDriverBase._send,
// _drivers/common.py serialize_msg, _drivers/impl_rabbit.py Connection.notify_send), so a consumer written for
// upstream Glance (Ceilometer, Searchlight, CADF auditors) cannot tell us apart.

/** Priorities as oslo.messaging's Notifier methods name them; Glance itself only uses INFO, WARN and ERROR. */
export type Priority = 'AUDIT' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'CRITICAL' | 'SAMPLE';

/** `messaging` sends the message bare (format 1.0), `messagingv2` inside the 2.0 envelope. */
export type EnvelopeVersion = 1 | 2;

export interface NotificationMessage {
  message_id: string;
  publisher_id: string;
  event_type: string;
  priority: Priority;
  payload: PyJson;
  timestamp: string;
}

/** Microseconds since the epoch, finer than Date.now(), because upstream's timestamps carry microseconds. */
export function nowMicros(): number {
  // Epoch microseconds stay below 2**53 for the next two centuries: a number holds them exactly.
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/**
 * str(datetime.datetime.utcnow()) as _notify writes it: "YYYY-MM-DD HH:MM:SS.ffffff", without the fraction when
 * the microseconds are zero (Python's datetime.__str__ leaves it out then).
 */
export function osloTimestamp(micros: number): string {
  const iso = new Date(Math.floor(micros / 1000)).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const fraction = micros % 1_000_000;
  const base = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
  return fraction === 0 ? base : `${base}.${String(fraction).padStart(6, '0')}`;
}

export function buildMessage(
  publisherId: string,
  eventType: string,
  priority: Priority,
  payload: PyJson,
  micros: number = nowMicros(),
): NotificationMessage {
  // Key order as the dict in _notify is built; Python's json keeps insertion order.
  return {
    message_id: randomUUID(),
    publisher_id: publisherId,
    event_type: eventType,
    priority,
    payload,
    timestamp: osloTimestamp(micros),
  };
}

/**
 * The AMQP body for one topic. _send adds `_unique_id` (a fresh uuid4 hex per send, so per topic) and the
 * sanitised request context as `_context_*` keys; Glance passes an empty context, so there are none.
 */
export function encodeBody(
  message: NotificationMessage,
  version: EnvelopeVersion,
  uniqueId = randomUUID().replace(/-/g, ''),
): Buffer {
  const msg: PyJson = { ...message, payload: message.payload, _unique_id: uniqueId };
  const text =
    version === 2
      ? pyJsonDumps({ 'oslo.version': '2.0', 'oslo.message': pyJsonDumps(msg) })
      : pyJsonDumps(msg);
  return Buffer.from(text, 'utf8');
}

/** The messaging drivers send on `<topic>.<priority lowercased>` (MessagingDriver.notify). */
export function routingKey(topic: string, priority: Priority): string {
  return `${topic}.${priority.toLowerCase()}`;
}

/**
 * kombu's Producer.publish with the json serializer and no delivery mode of its own: content type and encoding
 * of the serializer, persistent delivery (kombu's default), empty headers and priority 0, as a consumer sees
 * upstream's messages on the stack's broker.
 */
export const PUBLISH_OPTIONS = Object.freeze({
  contentType: 'application/json',
  contentEncoding: 'utf-8',
  deliveryMode: 2,
  priority: 0,
  headers: {},
});
