import {
  evaluate,
  parseCheck,
  type Creds,
  type Target,
} from '../../../../api-server/src/auth/check-string.js';

const member: Creds = { roles: ['member', 'reader'], project_id: 'p1', user_id: 'u1', system_scope: null };
const noRules = (): undefined => undefined;

function allows(rule: string, target: Target = {}, creds: Creds = member): boolean {
  return evaluate(parseCheck(rule), target, creds, noRules);
}

describe('oslo.policy check strings', () => {
  it('treats an empty rule and @ as always, ! as never', () => {
    expect(allows('')).toBe(true);
    expect(allows('@')).toBe(true);
    expect(allows('!')).toBe(false);
  });

  it('matches roles case-insensitively', () => {
    expect(allows('role:Member')).toBe(true);
    expect(allows('role:admin')).toBe(false);
  });

  it('binds and tighter than or, as upstream relies on in get_member', () => {
    const rule = 'role:admin or role:reader and (project_id:%(project_id)s or project_id:%(member_id)s)';
    expect(allows(rule, { project_id: 'p2', member_id: 'p1' })).toBe(true);
    expect(allows(rule, { project_id: 'p2', member_id: 'p3' })).toBe(false);
  });

  it('supports not and nested parentheses', () => {
    expect(allows('not role:admin and (role:member or (role:x))')).toBe(true);
    expect(allows('not (role:member)')).toBe(false);
  });

  it('compares quoted literals with target values', () => {
    expect(allows("'public':%(visibility)s", { visibility: 'public' })).toBe(true);
    expect(allows("'public':%(visibility)s", { visibility: 'private' })).toBe(false);
    expect(allows('True:%(enabled)s', { enabled: true })).toBe(true);
  });

  it('fails a check whose target attribute is missing', () => {
    expect(allows('project_id:%(owner)s', {})).toBe(false);
  });

  it("compares unset values as Python's 'None', so an unset project matches an unowned image", () => {
    const system: Creds = { roles: ['admin'], project_id: null, system_scope: 'all' };
    expect(allows('project_id:%(project_id)s', { project_id: null }, system)).toBe(true);
    expect(allows('project_id:%(project_id)s', { project_id: 'p1' }, system)).toBe(false);
    expect(allows('system_scope:all', {}, system)).toBe(true);
  });

  it('follows rule: references and denies unknown ones', () => {
    const rules = (name: string) => (name === 'owner' ? parseCheck('project_id:%(owner)s') : undefined);
    expect(evaluate(parseCheck('rule:owner'), { owner: 'p1' }, member, rules)).toBe(true);
    expect(evaluate(parseCheck('rule:missing'), {}, member, rules)).toBe(false);
  });

  it('denies a rule that refers to itself instead of looping forever', () => {
    const loop = parseCheck('rule:loop');
    expect(evaluate(loop, {}, member, () => loop)).toBe(false);
  });

  it('denies what it cannot parse and never makes remote http checks', () => {
    expect(allows('role:member and')).toBe(false);
    expect(allows('(role:member')).toBe(false);
    expect(allows('nonsense')).toBe(false);
    expect(allows('http://policy.example.com/check')).toBe(false);
  });
});
