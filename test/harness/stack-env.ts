import { readFileSync } from 'node:fs';

// The local stack (`npm run stack -- up`) writes this file; tests, benchmarks and the demo read it.
export const STACK_ENV_PATH =
  process.env.GLANCE_STACK_ENV ?? `${process.env.GLANCE_STACK_DIR ?? '/var/lib/glance-stack'}/stack.env`;

export class StackNotUpError extends Error {}

export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m?.[1] !== undefined && m[2] !== undefined) env[m[1]] = m[2];
  }
  return env;
}

let cached: Record<string, string> | undefined;

export function loadStackEnv(): Record<string, string> {
  if (cached) return cached;
  let text: string;
  try {
    text = readFileSync(STACK_ENV_PATH, 'utf8');
  } catch {
    throw new StackNotUpError(
      `Integration tests need the local stack, and ${STACK_ENV_PATH} is missing. ` +
        'Start it with `npm run stack -- up` (as root), then run the tests again.',
    );
  }
  cached = parseEnvFile(text);
  return cached;
}

export function stackValue(key: string): string {
  const value = loadStackEnv()[key];
  if (value === undefined || value === '') {
    throw new StackNotUpError(`${STACK_ENV_PATH} has no ${key}: run \`npm run stack -- up\` again.`);
  }
  return value;
}
