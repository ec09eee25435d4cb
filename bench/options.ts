import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { stackValue } from '../test/harness/stack-env.js';
import type { Sizes } from './scenario.js';
import { GIB, MIB } from './stats.js';

export const USAGE = `usage: npm run bench -- [--quick] [--repeat N] [--only ID,ID] [--out FILE]
                            [--ours URL] [--upstream URL] [--workdir DIR]

  --quick        tiny sizes and one repetition (the CI smoke run)
  --repeat N     repetitions of each scenario (default 3, with --quick 1)
  --only IDS     run only these scenarios (comma-separated ids, as the table prints them)
  --out FILE     where the JSON goes (default bench/results/<date>.json)
  --ours URL     our api-server (default API_URL of the stack), e.g. a private instance under --cpu-prof
  --upstream URL upstream glance-api (default UPSTREAM_GLANCE_URL of the stack)
  --workdir DIR  where generated image files are kept between runs (default /var/tmp/glance-bench)
`;

export const FULL_SIZES: Sizes = {
  uploadBytes: GIB,
  rssUploadBytes: 4 * GIB,
  listImages: 10_000,
  listRequests: 40,
  showClients: 50,
  showSeconds: 10,
  showMaxRequests: 500_000,
  notifyCycles: 200,
};

export const QUICK_SIZES: Sizes = {
  uploadBytes: 8 * MIB,
  rssUploadBytes: 64 * MIB,
  listImages: 300,
  listRequests: 5,
  showClients: 50,
  showSeconds: 1,
  showMaxRequests: 20_000,
  notifyCycles: 10,
};

export class UsageError extends Error {}

export interface BenchOptions {
  quick: boolean;
  repetitions: number;
  only: string[] | null;
  out: string;
  ours: string;
  upstream: string;
  workdir: string;
}

const localUrl = z
  .url({ protocol: /^http$/, error: 'must be an http:// URL' })
  .refine((u) => ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(u).hostname), 'must be on loopback')
  .transform((u) => u.replace(/\/+$/, ''));

const schema = z.object({
  quick: z.boolean(),
  repeat: z.coerce.number().int().min(1).max(20).optional(),
  only: z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((id) => id.trim())
        .filter((id) => id !== ''),
    )
    .optional(),
  out: z.string().min(1).optional(),
  ours: localUrl.optional(),
  upstream: localUrl.optional(),
  workdir: z.string().min(1).default('/var/tmp/glance-bench'),
});

/** Validates the command line; stack defaults are read only for what the command line leaves out. */
export function parseOptions(argv: string[], knownIds: readonly string[], now: Date): BenchOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: argv,
      options: {
        quick: { type: 'boolean', default: false },
        repeat: { type: 'string' },
        only: { type: 'string' },
        out: { type: 'string' },
        ours: { type: 'string' },
        upstream: { type: 'string' },
        workdir: { type: 'string' },
      },
    }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const parsed = schema.safeParse(values);
  if (!parsed.success) {
    throw new UsageError(parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('\n'));
  }
  const o = parsed.data;
  const unknown = (o.only ?? []).filter((id) => !knownIds.includes(id));
  if (unknown.length > 0) {
    throw new UsageError(`--only: unknown scenario(s) ${unknown.join(', ')}; known: ${knownIds.join(', ')}`);
  }
  const stamp = now
    .toISOString()
    .replace(/:/g, '-')
    .replace(/\.\d+Z$/, 'Z');
  return {
    quick: o.quick,
    repetitions: o.repeat ?? (o.quick ? 1 : 3),
    only: o.only ?? null,
    out: path.resolve(o.out ?? `bench/results/${stamp}.json`),
    ours: o.ours ?? localUrl.parse(stackValue('API_URL')),
    upstream: o.upstream ?? localUrl.parse(stackValue('UPSTREAM_GLANCE_URL')),
    workdir: path.resolve(o.workdir),
  };
}
