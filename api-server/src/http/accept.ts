// webob 1.8's AcceptValidHeader.acceptable_offers, which picks the body type of upstream's errors, versions
// and healthcheck responses. An absent or empty header accepts nothing; an unparseable one accepts everything.

interface MediaRange {
  type: string;
  subtype: string;
  params: string[];
  q: number;
}

const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const RANGE_RE = new RegExp(`^(${TOKEN})/(${TOKEN})$`);
const PARAM_RE = new RegExp(`^(${TOKEN})=(${TOKEN}|"(?:[^"\\\\]|\\\\.)*")$`);
const QVALUE_RE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/** Splits on `sep` outside double-quoted strings. */
function splitOutsideQuotes(text: string, sep: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] ?? '';
    if (quoted && ch === '\\') {
      current += ch + (text[i + 1] ?? '');
      i++;
    } else if (ch === '"') {
      quoted = !quoted;
      current += ch;
    } else if (ch === sep && !quoted) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts;
}

/** Parsed ranges, or null when the header does not follow RFC 7231's grammar. */
function parseAccept(header: string): MediaRange[] | null {
  const ranges: MediaRange[] = [];
  for (const element of splitOutsideQuotes(header, ',')) {
    const trimmed = element.trim();
    if (trimmed === '') continue;
    const [range = '', ...rawParams] = splitOutsideQuotes(trimmed, ';').map((p) => p.trim());
    const m = RANGE_RE.exec(range);
    if (!m) return null;
    const params: string[] = [];
    let q = 1;
    for (const raw of rawParams) {
      const pm = PARAM_RE.exec(raw);
      if (!pm) return null;
      const name = (pm[1] ?? '').toLowerCase();
      const value = pm[2] ?? '';
      if (name === 'q') {
        if (!QVALUE_RE.test(value)) return null;
        q = Number(value);
        // Parameters after q are accept-extensions, not media type parameters.
        break;
      }
      params.push(`${name}=${value}`);
    }
    ranges.push({ type: (m[1] ?? '').toLowerCase(), subtype: (m[2] ?? '').toLowerCase(), params, q });
  }
  return ranges;
}

/** The offers the header accepts, best first; ties keep the order of `offers`. */
export function acceptableOffers(header: string | undefined, offers: readonly string[]): string[] {
  const ranges = parseAccept(header ?? '');
  if (ranges === null) return [...offers];
  const scored: { offer: string; q: number; index: number }[] = [];
  offers.forEach((offer, index) => {
    const [type = '', subtype = ''] = offer.toLowerCase().split('/');
    let best: { q: number; specificity: number } | null = null;
    for (const r of ranges) {
      let specificity: number;
      if (r.type === type && r.subtype === subtype) specificity = r.params.length === 0 ? 3 : 4;
      else if (r.subtype === '*' && r.type === type) specificity = 2;
      else if (r.type === '*' && r.subtype === '*') specificity = 1;
      else continue;
      // A parameterised range only matches an offer with the same parameters, and offers here have none.
      if (specificity === 4) continue;
      if (best === null || specificity > best.specificity) best = { q: r.q, specificity };
    }
    if (best !== null && best.q > 0) scored.push({ offer, q: best.q, index });
  });
  scored.sort((a, b) => b.q - a.q || a.index - b.index);
  return scored.map((s) => s.offer);
}
