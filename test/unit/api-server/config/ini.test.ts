import { ConfigError } from '../../../../api-server/src/config/errors.js';
import { parseIni } from '../../../../api-server/src/config/ini.js';

function value(text: string, section: string, key: string): string | undefined {
  return parseIni(text, 'test.conf').get(section)?.get(key)?.value;
}

describe('parseIni', () => {
  it('reads sections with = and : assignments and skips # and ; comment lines', () => {
    const doc = parseIni(
      '[DEFAULT]\n# bind_port = 1\nbind_port = 9393\n; x = y\n[database]\nconnection: mysql://a/b\n',
    );
    expect(doc.get('DEFAULT')?.get('bind_port')?.value).toBe('9393');
    expect(doc.get('DEFAULT')?.has('x')).toBe(false);
    expect(doc.get('database')?.get('connection')?.value).toBe('mysql://a/b');
  });

  it('keeps a # after the value, since oslo.config has no inline comments', () => {
    expect(value('[DEFAULT]\nfoo = bar # not a comment\n', 'DEFAULT', 'foo')).toBe('bar # not a comment');
  });

  it('joins indented continuation lines with newlines until a blank line', () => {
    const text = '[DEFAULT]\nfoo = one\n  two\n\tthree\n\nbar = x\n';
    expect(value(text, 'DEFAULT', 'foo')).toBe('one\ntwo\nthree');
    expect(value(text, 'DEFAULT', 'bar')).toBe('x');
  });

  it('strips quotes that wrap the whole value only', () => {
    expect(value('[a]\nk = "quoted value"\n', 'a', 'k')).toBe('quoted value');
    expect(value('[a]\nk = \'x\' and "y"\n', 'a', 'k')).toBe('\'x\' and "y"');
    // oslo.config only compares the first and last characters.
    expect(value("[a]\nk = 'x' and 'y'\n", 'a', 'k')).toBe("x' and 'y");
  });

  it('folds section names to lower case except DEFAULT, and merges repeated sections with last value winning', () => {
    const doc = parseIni('[DATABASE]\nconnection = a\n[database]\nconnection = b\n[DEFAULT]\nx = 1\n');
    expect(doc.get('database')?.get('connection')?.value).toBe('b');
    expect(doc.get('DEFAULT')?.get('x')?.value).toBe('1');
  });

  it('reports every syntax problem with its line number and never the line itself', () => {
    const text = 'orphan = 1\n[DEFAULT]\npassword s3cr3t-value\n  \n[broken\n= nokey\n[]\n';
    let error: unknown;
    try {
      parseIni(text, 'glance-api.conf');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toEqual([
      'glance-api.conf:1: section must be started before assignment',
      "glance-api.conf:3: no ':' or '=' found in assignment",
      'glance-api.conf:5: invalid section (must end with ])',
      'glance-api.conf:6: key cannot be empty',
      'glance-api.conf:7: empty section name',
    ]);
    expect((error as Error).message).not.toContain('s3cr3t');
  });

  it('rejects an indented line with nothing to continue', () => {
    expect(() => parseIni('[DEFAULT]\n  stray\n', 'f')).toThrow('f:2: unexpected continuation line');
  });
});
