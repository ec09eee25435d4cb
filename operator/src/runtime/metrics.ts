/**
 * Prometheus metrics in the text exposition format 0.0.4, written here to avoid a dependency for three metric
 * types. Label sets are keyed by their rendered form, so a series is created on first use.
 */
export type Labels = Record<string, string>;

interface Metric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  render(): string[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function renderLabels(labels: Labels, extra?: [string, string]): string {
  const pairs = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b));
  if (extra) pairs.push(extra);
  if (pairs.length === 0) return '';
  return `{${pairs.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export class Counter implements Metric {
  readonly type = 'counter';
  private readonly values = new Map<string, { labels: Labels; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    if (by < 0) throw new RangeError(`counter ${this.name} cannot decrease`);
    const key = renderLabels(labels);
    const series = this.values.get(key);
    if (series) series.value += by;
    else this.values.set(key, { labels: { ...labels }, value: by });
  }

  get(labels: Labels = {}): number {
    return this.values.get(renderLabels(labels))?.value ?? 0;
  }

  /** The sum over every series whose labels include `match`. */
  sum(match: Labels = {}): number {
    let total = 0;
    for (const { labels, value } of this.values.values()) {
      if (Object.entries(match).every(([k, v]) => labels[k] === v)) total += value;
    }
    return total;
  }

  render(): string[] {
    return [...this.values.values()].map(
      ({ labels, value }) => `${this.name}${renderLabels(labels)} ${formatValue(value)}`,
    );
  }
}

export class Gauge implements Metric {
  readonly type = 'gauge';
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  private readonly collectors: Array<(gauge: Gauge) => void> = [];

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  /** `collect` runs at scrape time, for values cheaper to read then than to track. */
  onCollect(collect: (gauge: Gauge) => void): void {
    this.collectors.push(collect);
  }

  set(value: number, labels: Labels = {}): void {
    this.values.set(renderLabels(labels), { labels: { ...labels }, value });
  }

  get(labels: Labels = {}): number | undefined {
    return this.values.get(renderLabels(labels))?.value;
  }

  render(): string[] {
    for (const collect of this.collectors) collect(this);
    return [...this.values.values()].map(
      ({ labels, value }) => `${this.name}${renderLabels(labels)} ${formatValue(value)}`,
    );
  }
}

export class Histogram implements Metric {
  readonly type = 'histogram';
  private readonly series = new Map<
    string,
    { labels: Labels; counts: number[]; sum: number; count: number }
  >();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
  ) {
    if (buckets.some((b, i) => i > 0 && b <= (buckets[i - 1] as number))) {
      throw new RangeError(`histogram ${name} buckets must increase`);
    }
  }

  observe(value: number, labels: Labels = {}): void {
    const key = renderLabels(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { labels: { ...labels }, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    this.buckets.forEach((b, i) => {
      if (value <= b) (s.counts[i] as number)++;
    });
    s.sum += value;
    s.count++;
  }

  render(): string[] {
    const lines: string[] = [];
    for (const { labels, counts, sum, count } of this.series.values()) {
      this.buckets.forEach((b, i) => {
        lines.push(`${this.name}_bucket${renderLabels(labels, ['le', formatValue(b)])} ${counts[i]}`);
      });
      lines.push(`${this.name}_bucket${renderLabels(labels, ['le', '+Inf'])} ${count}`);
      lines.push(`${this.name}_sum${renderLabels(labels)} ${formatValue(sum)}`);
      lines.push(`${this.name}_count${renderLabels(labels)} ${count}`);
    }
    return lines;
  }
}

export class Registry {
  private readonly metrics = new Map<string, Metric>();

  register<M extends Metric>(metric: M): M {
    if (!NAME.test(metric.name)) throw new Error(`invalid metric name ${metric.name}`);
    if (this.metrics.has(metric.name)) throw new Error(`metric ${metric.name} registered twice`);
    this.metrics.set(metric.name, metric);
    return metric;
  }

  render(): string {
    const out: string[] = [];
    for (const m of this.metrics.values()) {
      out.push(`# HELP ${m.name} ${m.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
      out.push(`# TYPE ${m.name} ${m.type}`);
      out.push(...m.render());
    }
    return `${out.join('\n')}\n`;
  }
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
