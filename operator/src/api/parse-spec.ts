import type { z } from 'zod';

/** The validated spec, or a message naming each offending field for the InvalidSpec condition. */
export function parseSpecWith<S extends z.ZodType>(
  schema: S,
  raw: unknown,
): { spec: z.output<S> } | { error: string } {
  const result = schema.safeParse(raw ?? {});
  if (result.success) return { spec: result.data };
  return {
    error: result.error.issues
      .map((i) => `${['spec', ...i.path.map(String)].join('.')}: ${i.message}`)
      .join('; '),
  };
}
