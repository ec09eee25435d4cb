import { readFileSync } from 'node:fs';

// There is no Docker engine here: these checks read the Dockerfile as `docker build` would parse it.
const root = new URL('../../../', import.meta.url);
const read = (file: string) => readFileSync(new URL(file, root), 'utf8');

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  base: string;
  name: string | undefined;
  instructions: Instruction[];
}

function parseDockerfile(text: string): { args: Map<string, string>; stages: Stage[] } {
  const logical = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of logical) {
    const [op = '', ...rest] = line.split(/\s+/);
    const argText = rest.join(' ');
    const upper = op.toUpperCase();
    if (upper === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(argText);
      if (!m?.[1]) throw new Error(`bad FROM: ${line}`);
      const base = m[1].replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string, b: string) => args.get(a ?? b) ?? '');
      stages.push({ base, name: m[2], instructions: [] });
    } else if (upper === 'ARG' && stages.length === 0) {
      const [k = '', v = ''] = argText.split('=');
      args.set(k, v);
    } else {
      stages.at(-1)?.instructions.push({ op: upper, args: argText });
    }
  }
  return { args, stages };
}

const { stages } = parseDockerfile(read('Dockerfile'));
const final = stages.at(-1) as Stage;
const ops = (stage: Stage, op: string) => stage.instructions.filter((i) => i.op === op).map((i) => i.args);

describe('Dockerfile', () => {
  it('builds every stage on one Node LTS line (even major), so the addon loads the librbd it was built on', () => {
    const bases = new Set(stages.map((s) => s.base.replace(/-slim$/, '')));
    expect(bases.size).toBe(1);
    const m = /^node:(\d+)-/.exec(final.base);
    expect(m).not.toBeNull();
    expect(Number(m?.[1]) % 2).toBe(0);
    expect(Number(m?.[1])).toBeGreaterThanOrEqual(24);
  });

  it('runs as a numeric non-root user in the final stage', () => {
    const user = ops(final, 'USER').at(-1);
    expect(user).toMatch(/^[1-9]\d*(:\d+)?$/);
  });

  it('installs no devDependencies into the final image', () => {
    const npmRuns = stages.flatMap((s) => ops(s, 'RUN').filter((r) => /\bnpm (ci|install|i)\b/.test(r)));
    expect(ops(final, 'RUN').filter((r) => /\bnpm (ci|install|i)\b/.test(r))).toEqual([]);
    const modules = ops(final, 'COPY').filter((c) => /node_modules/.test(c));
    expect(modules).toHaveLength(1);
    const from = /--from=(\S+)/.exec(modules[0] ?? '')?.[1];
    const source = stages.find((s) => s.name === from);
    expect(source).toBeDefined();
    const installs = ops(source as Stage, 'RUN').filter((r) => /\bnpm (ci|install|i)\b/.test(r));
    expect(installs.length).toBeGreaterThan(0);
    for (const run of installs) expect(run).toMatch(/--omit=dev/);
    expect(npmRuns.length).toBeGreaterThan(installs.length);
  });

  it('carries both entrypoints, at the paths the chart and the operator-rendered Deployment run', () => {
    expect(final.instructions.find((i) => i.op === 'WORKDIR')?.args).toBe('/app');
    const copies = ops(final, 'COPY').join('\n');
    expect(copies).toMatch(/dist\/operator\/ dist\/operator\//);
    expect(copies).toMatch(/dist\/api-server\/ dist\/api-server\//);
    expect(ops(final, 'CMD').at(-1)).toBe('["node", "dist/operator/src/main.js"]');
    expect(read('charts/glance-operator/templates/deployment.yaml')).toContain(
      'command: [node, dist/operator/src/main.js]',
    );
    const workload = read('operator/src/glance-service/workload.ts');
    expect(workload).toContain("const WORKDIR = '/app'");
    expect(workload).toContain("['node', 'dist/api-server/src/main.js']");
    // package.json ("type": "module") must sit beside dist/, or Node reads the compiled ES modules as CommonJS.
    expect(copies).toMatch(/^package\.json \.\/$/m);
  });

  it('ships every native addon and what the operator runs: the ceph and rbd CLIs, and the decompressors', () => {
    const copies = ops(final, 'COPY').join('\n');
    const gyp = JSON.parse(read('native/binding.gyp')) as { targets: Array<{ target_name: string }> };
    expect(gyp.targets.length).toBeGreaterThan(0);
    for (const { target_name: addon } of gyp.targets) {
      expect(copies).toMatch(new RegExp(`native/build/Release/(\\*|${addon})\\.node`));
    }
    const installed = ops(final, 'RUN').join(' ');
    for (const pkg of ['librbd1', 'librados2', 'ceph-common', 'xz-utils', 'zstd', 'bzip2']) {
      expect(installed).toMatch(new RegExp(`\\b${pkg}\\b`));
    }
    expect(read('operator/src/glance-service/ceph-cli.ts')).toMatch(/spawn\(/);
  });

  it('keeps local state and build output out of the build context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim());
    for (const entry of ['node_modules', 'dist', '.git', 'native/build']) expect(ignored).toContain(entry);
  });
});
