// Python's json.dumps with its defaults (separators ", " and ": ", ensure_ascii=True), which is what
// oslo.serialization's jsonutils.dumps and kombu's JSON serializer both produce. Consumers that compare bytes, or
// hash them, see the same text from us as from upstream.

/** A JSON value as our payload builders produce it. `undefined` members of objects are left out. */
export type PyJson = null | boolean | number | string | PyJson[] | { [key: string]: PyJson | undefined };

function escapeString(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const ch = text[i]!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    // ensure_ascii: everything outside space..tilde as \uXXXX in lower-case hex; UTF-16 code units are what
    // Python writes for characters beyond the BMP too (a surrogate pair).
    else if (code < 0x20 || code > 0x7e) out += '\\u' + code.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}

function number(value: number): string {
  // Python writes NaN and Infinity (allow_nan=True); JSON.stringify would write null.
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  // Python's float repr pads a one-digit exponent (1e-07); integers print alike in both languages.
  return String(value).replace(/e([+-])(\d)$/, 'e$10$2');
}

export function pyJsonDumps(value: PyJson): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return number(value);
  if (typeof value === 'string') return escapeString(value);
  if (Array.isArray(value)) return '[' + value.map(pyJsonDumps).join(', ') + ']';
  const parts: string[] = [];
  for (const [key, member] of Object.entries(value)) {
    if (member === undefined) continue;
    parts.push(`${escapeString(key)}: ${pyJsonDumps(member)}`);
  }
  return '{' + parts.join(', ') + '}';
}
