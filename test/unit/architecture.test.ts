import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { findRepoRoot } from '../harness/paths.js';

// ARCHITECTURE.md's one rule per layer, held against the code: each top-level folder of a package's src/ may
// import only the folders listed for it. A new folder must be given a rule here and a line there.
const ROOT = findRepoRoot();

type Rules = Record<string, readonly string[]>;

const API_SERVER: Rules = {
  format: [],
  domain: ['format'],
  config: ['domain'],
  net: ['config'],
  db: ['domain', 'config'],
  store: ['domain', 'config', 'format', 'net'],
  auth: ['domain', 'config'],
  quota: ['domain', 'config', 'auth'],
  notify: ['domain', 'config'],
  metadefs: ['domain', 'config', 'db'],
  cache: ['domain', 'config', 'db', 'store'],
  import: ['domain', 'config', 'db', 'store', 'auth', 'quota', 'net'],
  services: [
    'domain',
    'config',
    'db',
    'store',
    'auth',
    'quota',
    'notify',
    'metadefs',
    'cache',
    'import',
    'format',
    'net',
  ],
  http: ['domain', 'config', 'auth', 'store'],
  routes: ['domain', 'config', 'auth', 'http', 'services'],
  composition: ['*'],
  main: ['*'],
};

// The one file the two programs share: the list of an image's own attributes, which imports nothing.
const SHARED_ATTRIBUTES = 'outside src (api-server/src/domain/image-attributes.js)';

const OPERATOR: Rules = {
  api: [SHARED_ATTRIBUTES],
  runtime: [],
  net: ['runtime'],
  'glance-service': ['api', 'runtime', 'net'],
  image: ['api', 'runtime', 'net'],
  options: ['net'],
  main: ['*'],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return name.endsWith('.ts') ? [p] : [];
  });
}

const IMPORT =
  /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]/gm;

/** Each cross-folder import of a package: [from folder, to folder, the importing file]. */
function crossings(pkg: string): [string, string, string][] {
  const src = path.join(ROOT, pkg, 'src');
  const layerOf = (file: string) =>
    path
      .relative(src, file)
      .split(path.sep)[0]!
      .replace(/\.[jt]s$/, '');
  const found: [string, string, string][] = [];
  for (const file of sourceFiles(src)) {
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const target = path.resolve(path.dirname(file), m[1] ?? m[2]!);
      const rel = path.relative(src, target);
      const to = rel.startsWith('..') ? `outside src (${path.relative(ROOT, target)})` : layerOf(target);
      const from = layerOf(file);
      if (to !== from) found.push([from, to, path.relative(ROOT, file)]);
    }
  }
  return found;
}

describe.each([
  ['api-server', API_SERVER],
  ['operator', OPERATOR],
])('%s layers', (pkg, rules) => {
  const edges = crossings(pkg);

  it('has a rule for every top-level folder', () => {
    const folders = new Set(
      edges.flatMap(([from, to]) => [from, to]).filter((f) => !f.startsWith('outside')),
    );
    for (const name of readdirSync(path.join(ROOT, pkg, 'src'))) folders.add(name.replace(/\.ts$/, ''));
    expect([...folders].filter((f) => !(f in rules)).sort()).toEqual([]);
  });

  it('imports only downwards', () => {
    const broken = edges
      .filter(([from, to]) => {
        const allowed = rules[from] ?? [];
        return !allowed.includes('*') && !allowed.includes(to);
      })
      .map(([from, to, file]) => `${file}: ${from} -> ${to}`);
    expect(broken).toEqual([]);
  });
});

test('the file both programs share imports nothing, so the operator carries no api-server code with it', () => {
  const text = readFileSync(path.join(ROOT, 'api-server/src/domain/image-attributes.ts'), 'utf8');
  expect(text).not.toMatch(/^\s*import\s/m);
});
