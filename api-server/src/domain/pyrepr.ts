// Upstream builds many error messages with Python's repr() and pprint.pformat() of JSON values (jsonschema
// errors, "Original locations is not empty: [...]"); clients see that text, so we render it the same way.

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n += 1;
  return n;
}

function escapeChar(ch: string, quote: string): string {
  if (ch === '\\' || ch === quote) return `\\${ch}`;
  if (ch === '\n') return '\\n';
  if (ch === '\r') return '\\r';
  if (ch === '\t') return '\\t';
  if (ch !== ' ' && NON_PRINTABLE.test(ch)) {
    const code = ch.codePointAt(0) ?? 0;
    if (code < 0x100) return `\\x${code.toString(16).padStart(2, '0')}`;
    if (code < 0x10000) return `\\u${code.toString(16).padStart(4, '0')}`;
    return `\\U${code.toString(16).padStart(8, '0')}`;
  }
  return ch;
}

export function reprString(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) out += escapeChar(ch, quote);
  return out + quote;
}

function reprFloat(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : '-inf';
  const [mantissa = '0', expText = '0'] = n.toExponential().split('e');
  const exp = Number(expText);
  // Python's float repr switches to exponent notation outside 1e-4 <= |n| < 1e16.
  if (exp < -4 || exp >= 16) {
    const sign = exp < 0 ? '-' : '+';
    return `${mantissa}e${sign}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  const digits = mantissa.replace('-', '').replace('.', '');
  const negative = n < 0 ? '-' : '';
  if (exp < 0) return `${negative}0.${'0'.repeat(-exp - 1)}${digits}`;
  const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
  const fracPart = digits.slice(exp + 1);
  return `${negative}${intPart}.${fracPart || '0'}`;
}

// JSON.parse cannot tell 1 from 1.0: a number whose JSON text has no fraction or exponent is rendered as the
// Python int json.loads would have made of that text.
function reprNumber(n: number): string {
  return Number.isInteger(n) && Math.abs(n) < 1e21 ? String(n) : reprFloat(n);
}

function compareCodePoints(a: string, b: string): number {
  const ca = Array.from(a, (c) => c.codePointAt(0) ?? 0);
  const cb = Array.from(b, (c) => c.codePointAt(0) ?? 0);
  for (let i = 0; i < Math.min(ca.length, cb.length); i += 1) {
    const d = (ca[i] ?? 0) - (cb[i] ?? 0);
    if (d !== 0) return d;
  }
  return ca.length - cb.length;
}

function sortedEntries(obj: { [key: string]: JsonValue }): [string, JsonValue][] {
  return Object.entries(obj).sort(([a], [b]) => compareCodePoints(a, b));
}

/** Python's repr(); `sortKeys` mirrors pprint's safe_repr, which orders dict keys. */
export function pyRepr(value: JsonValue, sortKeys = false): string {
  if (value === null) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return reprNumber(value);
  if (typeof value === 'string') return reprString(value);
  if (Array.isArray(value)) return `[${value.map((v) => pyRepr(v, sortKeys)).join(', ')}]`;
  const entries = sortKeys ? sortedEntries(value) : Object.entries(value);
  return `{${entries.map(([k, v]) => `${reprString(k)}: ${pyRepr(v, sortKeys)}`).join(', ')}}`;
}

// str.splitlines(keepends=True) line boundaries.
const LINE_BREAKS = new Set([
  '\n',
  '\r',
  '\v',
  '\f',
  '\u001c',
  '\u001d',
  '\u001e',
  '\u0085',
  '\u2028',
  '\u2029',
]);

function splitLinesKeepEnds(s: string): string[] {
  const lines: string[] = [];
  let current = '';
  for (let i = 0; i < s.length; i += 1) {
    const ch = s[i]!;
    current += ch;
    if (!LINE_BREAKS.has(ch)) continue;
    if (ch === '\r' && s[i + 1] === '\n') {
      current += '\n';
      i += 1;
    }
    lines.push(current);
    current = '';
  }
  if (current !== '') lines.push(current);
  return lines;
}

class PrettyPrinter {
  private out = '';

  constructor(private readonly width: number) {}

  render(value: JsonValue): string {
    this.format(value, 0, 0, 0);
    return this.out;
  }

  private format(value: JsonValue, indent: number, allowance: number, level: number): void {
    const rep = pyRepr(value, true);
    if (
      codePointLength(rep) <= this.width - indent - allowance ||
      value === null ||
      typeof value !== 'object'
    ) {
      if (typeof value === 'string' && codePointLength(rep) > this.width - indent - allowance) {
        this.formatString(value, indent, allowance, level + 1);
      } else {
        this.out += rep;
      }
      return;
    }
    if (Array.isArray(value)) {
      this.out += '[';
      this.formatItems(value, indent, allowance + 1, level + 1);
      this.out += ']';
      return;
    }
    this.out += '{';
    const entries = sortedEntries(value);
    const inner = indent + 1;
    entries.forEach(([key, entry], i) => {
      const last = i === entries.length - 1;
      const keyRep = reprString(key);
      this.out += `${keyRep}: `;
      this.format(entry, inner + codePointLength(keyRep) + 2, last ? allowance + 1 : 1, level + 1);
      if (!last) this.out += `,\n${' '.repeat(inner)}`;
    });
    this.out += '}';
  }

  private formatItems(items: JsonValue[], indent: number, allowance: number, level: number): void {
    const inner = indent + 1;
    items.forEach((item, i) => {
      const last = i === items.length - 1;
      if (i > 0) this.out += `,\n${' '.repeat(inner)}`;
      this.format(item, inner, last ? allowance : 1, level);
    });
  }

  private formatString(value: string, indent: number, allowance: number, level: number): void {
    if (value === '') {
      this.out += reprString(value);
      return;
    }
    const lines = splitLinesKeepEnds(value);
    if (level === 1) {
      indent += 1;
      allowance += 1;
    }
    const maxWidth = this.width - indent;
    let maxWidth1 = maxWidth;
    const chunks: string[] = [];
    lines.forEach((line, i) => {
      const lastLine = i === lines.length - 1;
      if (lastLine) maxWidth1 -= allowance;
      const rep = reprString(line);
      if (codePointLength(rep) <= maxWidth1) {
        chunks.push(rep);
        return;
      }
      const parts = line.match(/\S*\s*/g)!.filter((p) => p !== '');
      let maxWidth2 = maxWidth;
      let current = '';
      parts.forEach((part, j) => {
        const candidate = current + part;
        if (j === parts.length - 1 && lastLine) maxWidth2 -= allowance;
        if (codePointLength(reprString(candidate)) > maxWidth2) {
          if (current) chunks.push(reprString(current));
          current = part;
        } else {
          current = candidate;
        }
      });
      if (current) chunks.push(reprString(current));
    });
    if (chunks.length === 1) {
      this.out += reprString(lines[lines.length - 1] ?? value);
      return;
    }
    if (level === 1) this.out += '(';
    this.out += chunks.join(`\n${' '.repeat(indent)}`);
    if (level === 1) this.out += ')';
  }
}

/** Python's pprint.pformat(value, width=width) with its default sorted dict keys. */
export function pyPformat(value: JsonValue, width = 80): string {
  return new PrettyPrinter(width).render(value);
}
