import type { Cleanups } from './cleanup.js';
import type { Check, Measurement, Target, Unit } from './report.js';
import { median } from './stats.js';
import { meets } from './targets.js';

/** What a run sizes its scenarios with: the sizes, or tiny ones for the CI smoke run. */
export interface Sizes {
  uploadBytes: number;
  rssUploadBytes: number;
  listImages: number;
  /** Timed list requests per server and repetition (two more warm each server up). */
  listRequests: number;
  showClients: number;
  showSeconds: number;
  /** Upper bound on requests per load run, whatever the duration. */
  showMaxRequests: number;
  /** Image lives (create, upload, delete) timed per server and repetition with notifications on and off. */
  notifyCycles: number;
}

export interface Server {
  name: 'ours' | 'upstream';
  url: string;
}

export interface BenchContext {
  mode: 'full' | 'quick';
  repetitions: number;
  sizes: Sizes;
  ours: Server;
  upstream: Server;
  /** Outside the checkout: generated image files live here between runs. */
  workdir: string;
  cleanups: Cleanups;
  progress(message: string): void;
}

export interface ScenarioOutcome {
  measurements: Measurement[];
  checks: Check[];
  notes: string[];
}

export interface RunnableScenario {
  kind: 'runnable';
  id: string;
  title(ctx: BenchContext): string;
  run(ctx: BenchContext): Promise<ScenarioOutcome>;
}

/** A scenario whose code does not exist yet: reported as a "not yet available" row, never with a number. */
export interface PlannedScenario {
  kind: 'planned';
  id: string;
  title: string;
  targets: Target[];
  missing: string;
}

export type Scenario = RunnableScenario | PlannedScenario;

export function measurement(id: string, label: string, unit: Unit, samples: number[]): Measurement {
  return { id, label, unit, samples, median: median(samples) };
}

export function check(label: string, value: number, unit: Unit, target?: Target): Check {
  if (!target) return { label, value, unit };
  return { label, value, unit, target, verdict: meets(value, target) ? 'PASS' : 'MISS' };
}

/** The ratio of two medians. */
export function ratio(
  label: string,
  numerator: Measurement,
  denominator: Measurement,
  target?: Target,
): Check {
  return check(label, numerator.median / denominator.median, '×', target);
}

/** Alternates which server goes first, so that a busy moment on the shared machine hurts both alike. */
export function serversInOrder(ctx: BenchContext, repetition: number): Server[] {
  return repetition % 2 === 0 ? [ctx.ours, ctx.upstream] : [ctx.upstream, ctx.ours];
}

export function describeBytes(bytes: number): string {
  const gib = bytes / 1024 ** 3;
  return gib >= 1 ? `${Number(gib.toFixed(2))} GiB` : `${Number((bytes / 1024 ** 2).toFixed(2))} MiB`;
}
