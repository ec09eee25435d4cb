// Python's json.dumps with its defaults (separators ", " and ": ", ensure_ascii=True), which is what
// oslo.serialization's jsonutils.dumps and kombu's JSON serializer both produce. Consumers that compare bytes, or
// hash them, see the same text from us as from upstream.

/** A JSON value as our payload builders produce it. `undefined` members of objects are left out. */
export type PyJson = null | boolean | number | string | PyJson[] | { [key: string]: PyJson | undefined };

// Strings go through JSON.stringify, which escapes quotes, backslashes and control characters as Python does
// (\n, \u001f, lone surrogates in lower-case hex) and natively fast; what it leaves raw, DEL and everything beyond
// ASCII, then gets ensure_ascii's \uXXXX (UTF-16 code units, so a surrogate pair beyond the BMP, as Python).
const NON_ASCII = /[\x7f-\uffff]/g;
const HAS_NON_ASCII = /[\x7f-\uffff]/;

function escapeChar(ch: string): string {
  return '\\u' + ch.charCodeAt(0).toString(16).padStart(4, '0');
}

function pyString(text: string): string {
  const json = JSON.stringify(text);
  return HAS_NON_ASCII.test(json) ? json.replace(NON_ASCII, escapeChar) : json;
}

function pyNumber(value: number): string {
  // Python writes NaN and Infinity (allow_nan=True), where JSON.stringify would write null.
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  // Python's float repr pads a one-digit exponent (1e-07); integers print alike in both languages.
  const text = String(value);
  return text.includes('e') ? text.replace(/e([+-])(\d)$/, 'e$10$2') : text;
}

export function pyJsonDumps(value: PyJson): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return pyNumber(value);
    case 'string':
      return pyString(value);
  }
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ', ') + pyJsonDumps(value[i]!);
    return out + ']';
  }
  let out = '{';
  let first = true;
  for (const key of Object.keys(value)) {
    const member = value[key];
    if (member === undefined) continue;
    out += (first ? '' : ', ') + pyString(key) + ': ' + pyJsonDumps(member);
    first = false;
  }
  return out + '}';
}
