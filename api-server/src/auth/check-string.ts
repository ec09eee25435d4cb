// oslo.policy's policy language, which upstream's default rules and operators' policy files are written in:
// `role:admin or (role:member and project_id:%(project_id)s)`, `rule:name`, `'public':%(visibility)s`, `@`, `!`,
// `not`, parentheses, and `and` binding tighter than `or`. A rule that does not parse denies (oslo: FalseCheck).

export type PolicyValue = string | boolean | null | readonly string[];
/** What a check may read: the caller's credentials, and the target's attributes by `%(name)s`. */
export type Creds = Readonly<Record<string, PolicyValue>>;
export type Target = Readonly<Record<string, string | boolean | null>>;

export type Check =
  | { kind: 'true' }
  | { kind: 'false' }
  | { kind: 'not'; check: Check }
  | { kind: 'and' | 'or'; checks: Check[] }
  | { kind: 'rule'; name: string }
  | { kind: 'role'; match: string }
  | { kind: 'generic'; key: string; match: string };

export type RuleResolver = (name: string) => Check | undefined;

const TRUE: Check = { kind: 'true' };
const FALSE: Check = { kind: 'false' };

function parseAtom(text: string): Check {
  if (text === '@') return TRUE;
  if (text === '!') return FALSE;
  const colon = text.indexOf(':');
  if (colon < 0) return FALSE;
  const key = text.slice(0, colon);
  const match = text.slice(colon + 1);
  if (key === 'rule') return { kind: 'rule', name: match };
  if (key === 'role') return { kind: 'role', match };
  // Remote HTTP checks would let a policy file make us call out; deny, as oslo does for a check it cannot run.
  if (key === 'http' || key === 'https') return FALSE;
  return { kind: 'generic', key, match };
}

type Token = '(' | ')' | 'and' | 'or' | 'not' | Check | null;

// oslo's tokenizer: split on whitespace, peel leading '(' and trailing ')' off each word (a check itself may
// contain parentheses, as in %(project_id)s). A quoted word is only meaningful in oslo's unused "case" syntax.
function tokenize(rule: string): Token[] {
  const tokens: Token[] = [];
  for (const word of rule.split(/\s+/)) {
    if (word === '') continue;
    const body = word.replace(/^\(+/, '');
    for (let i = 0; i < word.length - body.length; i++) tokens.push('(');
    if (body === '') continue;
    const clean = body.replace(/\)+$/, '');
    const lowered = clean.toLowerCase();
    if (lowered === 'and' || lowered === 'or' || lowered === 'not') tokens.push(lowered);
    else if (clean !== '') {
      const quoted = body.length >= 2 && (body[0] === '"' || body[0] === "'") && body.endsWith(body[0]);
      tokens.push(quoted ? null : parseAtom(clean));
    }
    for (let i = 0; i < body.length - clean.length; i++) tokens.push(')');
  }
  return tokens;
}

class Parser {
  private at = 0;

  constructor(private readonly tokens: Token[]) {}

  parse(): Check {
    const check = this.or();
    if (this.at !== this.tokens.length) throw new Error('trailing tokens');
    return check;
  }

  private or(): Check {
    const checks = [this.and()];
    while (this.tokens[this.at] === 'or') {
      this.at++;
      checks.push(this.and());
    }
    return checks.length === 1 ? (checks[0] as Check) : { kind: 'or', checks };
  }

  private and(): Check {
    const checks = [this.not()];
    while (this.tokens[this.at] === 'and') {
      this.at++;
      checks.push(this.not());
    }
    return checks.length === 1 ? (checks[0] as Check) : { kind: 'and', checks };
  }

  private not(): Check {
    if (this.tokens[this.at] === 'not') {
      this.at++;
      return { kind: 'not', check: this.not() };
    }
    return this.atom();
  }

  private atom(): Check {
    const token = this.tokens[this.at++];
    if (token === '(') {
      const inner = this.or();
      if (this.tokens[this.at++] !== ')') throw new Error('unbalanced parentheses');
      return inner;
    }
    if (token === undefined || token === null || typeof token === 'string')
      throw new Error('expected a check');
    return token;
  }
}

/** Parses a check string; an empty one always passes, one that does not parse never does. */
export function parseCheck(rule: string): Check {
  if (rule.trim() === '') return TRUE;
  try {
    return new Parser(tokenize(rule)).parse();
  } catch {
    return FALSE;
  }
}

// Python's str() of the values policies compare, so that an unset project matches the string 'None' exactly as
// it does upstream.
function pyStr(value: string | boolean | null): string {
  if (value === null) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  return String(value);
}

/** `match % target`; null when a %(name)s is missing from the target, which fails the check upstream. */
function interpolate(match: string, target: Target): string | null {
  let missing = false;
  const out = match.replace(/%(?:%|\(([^)]*)\)s)/g, (all, name?: string) => {
    if (name === undefined) return '%';
    if (!Object.hasOwn(target, name)) {
      missing = true;
      return all;
    }
    return pyStr(target[name] ?? null);
  });
  return missing ? null : out;
}

// The left side of a generic check is a Python literal ('public', True, 42) or a dotted path into the creds.
function literal(key: string): string | null {
  const quoted = /^(['"])(.*)\1$/s.exec(key);
  if (quoted) return quoted[2] ?? '';
  if (key === 'True' || key === 'False' || key === 'None') return key;
  if (/^[+-]?\d+$/.test(key)) return String(Number(key));
  return null;
}

// oslo's GenericCheck._find_in_dict: follow the dotted path; a list along the way matches if any element does.
function findInCreds(value: PolicyValue | Creds, path: readonly string[], match: string): boolean {
  const [head, ...rest] = path;
  if (head === undefined)
    return !Array.isArray(value) && match === pyStr(value as Exclude<PolicyValue, readonly string[]>);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const record = value as Creds;
  if (!Object.hasOwn(record, head)) return false;
  const next = record[head] as PolicyValue;
  if (Array.isArray(next)) return next.some((item: string) => findInCreds(item, rest, match));
  return findInCreds(next, rest, match);
}

export function evaluate(
  check: Check,
  target: Target,
  creds: Creds,
  rules: RuleResolver,
  depth = 0,
): boolean {
  // A policy file can make rules refer to each other; a loop denies instead of overflowing the stack.
  if (depth > 50) return false;
  switch (check.kind) {
    case 'true':
      return true;
    case 'false':
      return false;
    case 'not':
      return !evaluate(check.check, target, creds, rules, depth + 1);
    case 'and':
      return check.checks.every((c) => evaluate(c, target, creds, rules, depth + 1));
    case 'or':
      return check.checks.some((c) => evaluate(c, target, creds, rules, depth + 1));
    case 'rule': {
      const rule = rules(check.name);
      return rule !== undefined && evaluate(rule, target, creds, rules, depth + 1);
    }
    case 'role': {
      const match = interpolate(check.match, target);
      const roles = creds.roles;
      return (
        match !== null &&
        Array.isArray(roles) &&
        roles.some((r: string) => r.toLowerCase() === match.toLowerCase())
      );
    }
    case 'generic': {
      const match = interpolate(check.match, target);
      if (match === null) return false;
      const lit = literal(check.key);
      if (lit !== null) return match === lit;
      return findInCreds(creds, check.key.split('.'), match);
    }
  }
}
