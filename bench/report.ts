import { z } from 'zod';

// The JSON a run writes (bench/results/<date>.json); the smoke test reads it back through this schema.

export const unitSchema = z.enum(['MiB/s', 'ms', 'req/s', 'MB', '×']);
export type Unit = z.infer<typeof unitSchema>;

export const targetSchema = z.object({
  op: z.enum(['>=', '<=']),
  value: z.number(),
  text: z.string(),
});
export type Target = z.infer<typeof targetSchema>;

export const measurementSchema = z.object({
  id: z.string(),
  label: z.string(),
  unit: unitSchema,
  /** One value per repetition. */
  samples: z.array(z.number()),
  median: z.number(),
});
export type Measurement = z.infer<typeof measurementSchema>;

/** A ratio or limit; the issue sets targets for some, the others are shown for context. */
export const checkSchema = z.object({
  label: z.string(),
  value: z.number(),
  unit: unitSchema,
  target: targetSchema.optional(),
  verdict: z.enum(['PASS', 'MISS']).optional(),
});
export type Check = z.infer<typeof checkSchema>;

const scenarioHead = { id: z.string(), title: z.string() };

export const scenarioResultSchema = z.discriminatedUnion('status', [
  z.object({
    ...scenarioHead,
    status: z.literal('ok'),
    measurements: z.array(measurementSchema),
    checks: z.array(checkSchema),
    notes: z.array(z.string()),
  }),
  z.object({
    ...scenarioHead,
    status: z.literal('not-available'),
    reason: z.string(),
    targets: z.array(z.string()),
  }),
  z.object({ ...scenarioHead, status: z.literal('failed'), error: z.string() }),
]);
export type ScenarioResult = z.infer<typeof scenarioResultSchema>;

export const benchReportSchema = z.object({
  mode: z.enum(['full', 'quick']),
  repetitions: z.number().int().positive(),
  startedAt: z.string(),
  finishedAt: z.string(),
  machine: z.object({
    cpus: z.number().int().positive(),
    node: z.string(),
    loadAverageBefore: z.array(z.number()),
    loadAverageAfter: z.array(z.number()),
  }),
  servers: z.object({ ours: z.string(), upstream: z.string() }),
  scenarios: z.array(scenarioResultSchema),
});
export type BenchReport = z.infer<typeof benchReportSchema>;
