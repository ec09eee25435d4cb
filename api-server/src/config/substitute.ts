import { normalizeSection, type IniDocument } from './ini.js';

export class SubstitutionError extends Error {
  constructor(readonly reference: string | null) {
    super(reference === null ? 'references loop' : `refers to $${reference}, which is not set`);
  }
}

// string.Template's syntax as oslo.config uses it: $name, ${name}, $$ (and \$) for a literal dollar sign. The
// pattern is case-insensitive like Python's Template; anything else after a $ is left as written.
const PATTERN = /\$(?:(\$)|\{([_a-z][._a-z0-9]*)\}|([_a-z][._a-z0-9]*))/gi;
const MAX_DEPTH = 10;

/**
 * Expands `$option` references in a value from this section, then [DEFAULT]; `$group.option` names the section.
 * oslo.config would fall back to a registered option's default, which we cannot know for options we ignore, so a
 * reference to something not set in the file is an error.
 */
export function substitute(value: string, section: string, doc: IniDocument, depth = 0): string {
  if (depth > MAX_DEPTH) throw new SubstitutionError(null);
  return value
    .replaceAll('\\$', '$$$$')
    .replace(PATTERN, (_all, dollar?: string, braced?: string, bare?: string) => {
      if (dollar) return '$';
      const name = (braced ?? bare) as string;
      const dot = name.indexOf('.');
      const groups = dot < 0 ? [section, 'DEFAULT'] : [normalizeSection(name.slice(0, dot))];
      const option = dot < 0 ? name : name.slice(dot + 1);
      for (const group of groups) {
        const entry = doc.get(group)?.get(option);
        if (entry) return substitute(entry.value, group, doc, depth + 1);
      }
      throw new SubstitutionError(name);
    });
}
