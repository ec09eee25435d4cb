import { ConfigError } from './errors.js';

/** One assignment; `source` is the file (or `$ENV_VAR`) it came from, used to point at it in errors. */
export interface IniEntry {
  value: string;
  source: string;
}

/** Sections by normalised name, then keys as written. Later assignments of a key replace earlier ones. */
export type IniDocument = Map<string, Map<string, IniEntry>>;

export interface IniReadResult {
  doc: IniDocument;
  problems: string[];
}

// oslo.config folds group names to lower case, except DEFAULT.
export function normalizeSection(name: string): string {
  return name === 'DEFAULT' ? name : name.toLowerCase();
}

export function setEntry(doc: IniDocument, section: string, key: string, entry: IniEntry): void {
  let keys = doc.get(section);
  if (!keys) {
    keys = new Map();
    doc.set(section, keys);
  }
  keys.set(key, entry);
}

/**
 * Reads INI text the way oslo.config's iniparser does, but keeps going after a bad line so every syntax problem
 * is reported. Problems name the line number only: the line itself may hold a password.
 */
export function readIni(text: string, source: string): IniReadResult {
  const doc: IniDocument = new Map();
  const problems: string[] = [];
  let section: string | null = null;
  let key: string | null = null;
  let value: string[] = [];

  const flush = (): void => {
    if (key !== null && section !== null) setEntry(doc, section, key, { value: value.join('\n'), source });
    key = null;
    value = [];
  };

  text.split('\n').forEach((raw, index) => {
    const lineno = index + 1;
    const fail = (message: string): void => {
      problems.push(`${source}:${lineno}: ${message}`);
    };
    const line = raw.trimEnd();
    if (line === '') {
      flush();
      return;
    }
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (key === null) fail('unexpected continuation line');
      else value.push(line.trimStart());
      return;
    }
    flush();
    if (line.startsWith('[')) {
      if (!line.endsWith(']')) fail('invalid section (must end with ])');
      else if (line.length <= 2) fail('empty section name');
      else {
        section = normalizeSection(line.slice(1, -1));
        if (!doc.has(section)) doc.set(section, new Map());
      }
      return;
    }
    if (line.startsWith('#') || line.startsWith(';')) return;

    const colon = line.indexOf(':');
    const equal = line.indexOf('=');
    if (colon < 0 && equal < 0) {
      fail("no ':' or '=' found in assignment");
      return;
    }
    const at = colon < 0 || (equal >= 0 && equal < colon) ? equal : colon;
    const name = line.slice(0, at).trim();
    let first = line.slice(at + 1).trim();
    // Only a value wholly wrapped in matching quotes loses them, as in oslo.config.
    const quote = first[0];
    if ((quote === '"' || quote === "'") && first.endsWith(quote)) {
      first = first.slice(1, -1);
    }
    if (name === '') {
      fail('key cannot be empty');
      return;
    }
    if (section === null) {
      fail('section must be started before assignment');
      return;
    }
    key = name;
    value = [first];
  });
  flush();
  return { doc, problems };
}

/** Parses glance-api.conf-style INI text; throws ConfigError listing every syntax problem. */
export function parseIni(text: string, source = '<config>'): IniDocument {
  const { doc, problems } = readIni(text, source);
  if (problems.length > 0) throw new ConfigError(problems);
  return doc;
}
