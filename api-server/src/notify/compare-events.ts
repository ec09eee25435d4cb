// Compares two notification sequences by their shape: the event types in order and, per event, the payload's keys
// with the JSON type of each value. Ids, names and timestamps differ between two runs of the same workflow; the
// shape must not. Used to hold our notifications against upstream Glance's for the same requests.

export interface ObservedEvent {
  event_type: string;
  payload: unknown;
}

export type JsonType = 'null' | 'boolean' | 'number' | 'string' | 'array' | 'object';

export interface EventShape {
  event_type: string;
  /** Key → type for an object payload; a string payload (a failed image.upload) is the string "string". */
  payload: Record<string, JsonType> | JsonType;
}

export function jsonType(value: unknown): JsonType {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'array';
  const t = typeof value;
  if (t === 'boolean' || t === 'number' || t === 'string') return t;
  return 'object';
}

export function eventShape(event: ObservedEvent): EventShape {
  const payload = event.payload;
  if (jsonType(payload) !== 'object') return { event_type: event.event_type, payload: jsonType(payload) };
  const keys: Record<string, JsonType> = {};
  for (const [key, value] of Object.entries(payload as Record<string, unknown>)) keys[key] = jsonType(value);
  return { event_type: event.event_type, payload: keys };
}

export interface CompareOptions {
  /**
   * Keys whose type may differ, e.g. a value that is null in one run and set in the other because of timing.
   * Their presence is still compared.
   */
  looseKeys?: readonly string[];
}

/** Differences between two sequences as readable lines; empty when they have the same shape. */
export function compareEventSequences(
  expected: readonly ObservedEvent[],
  actual: readonly ObservedEvent[],
  options: CompareOptions = {},
): string[] {
  const loose = new Set(options.looseKeys ?? []);
  const differences: string[] = [];
  const a = expected.map(eventShape);
  const b = actual.map(eventShape);
  const types = (s: EventShape[]) => s.map((e) => e.event_type).join(', ');
  if (types(a) !== types(b))
    differences.push(`event types differ: expected [${types(a)}], got [${types(b)}]`);
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.event_type !== y.event_type) continue;
    const at = `#${i} ${x.event_type}`;
    if (typeof x.payload === 'string' || typeof y.payload === 'string') {
      if (x.payload !== y.payload && JSON.stringify(x.payload) !== JSON.stringify(y.payload))
        differences.push(`${at}: payload is ${describe(y.payload)}, expected ${describe(x.payload)}`);
      continue;
    }
    for (const key of Object.keys(x.payload))
      if (!(key in y.payload)) differences.push(`${at}: payload lacks "${key}"`);
    for (const key of Object.keys(y.payload))
      if (!(key in x.payload)) differences.push(`${at}: payload has unexpected "${key}"`);
    for (const [key, type] of Object.entries(x.payload)) {
      const other = y.payload[key];
      if (other !== undefined && other !== type && !loose.has(key))
        differences.push(`${at}: "${key}" is ${other}, expected ${type}`);
    }
  }
  return differences;
}

function describe(payload: EventShape['payload']): string {
  return typeof payload === 'string' ? `a ${payload}` : 'an object';
}
