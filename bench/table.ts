import type { BenchReport, Check, Measurement, Unit } from './report.js';

function number(value: number): string {
  const magnitude = Math.abs(value);
  return magnitude >= 100 ? value.toFixed(0) : magnitude >= 10 ? value.toFixed(1) : value.toFixed(2);
}

const withUnit = (value: number, unit: Unit): string =>
  unit === '×' ? `${number(value)}×` : `${number(value)} ${unit}`;

const LABEL = 40;
const VALUE = 14;

function measurementLine(m: Measurement): string {
  const samples = m.samples.length > 1 ? `  (${m.samples.map(number).join(', ')})` : '';
  return `  ${m.label.padEnd(LABEL)}${withUnit(m.median, m.unit).padStart(VALUE)}${samples}`;
}

function checkLine(c: Check): string {
  const head = `  ${c.label.padEnd(LABEL)}${withUnit(c.value, c.unit).padStart(VALUE)}`;
  return c.target ? `${head}  target ${c.target.text.padEnd(30)} ${c.verdict}` : head;
}

const loads = (values: number[]): string => values.map((v) => v.toFixed(2)).join(' ');

/** The human-readable table: medians of the repetitions (each repetition in parentheses), then ratios. */
export function renderTable(report: BenchReport): string {
  const lines = [
    `Glance benchmarks, ${report.mode} run: medians of ${report.repetitions} repetition(s), ${report.startedAt}`,
    `ours ${report.servers.ours}, upstream ${report.servers.upstream}; ${report.machine.cpus} CPUs, ` +
      `node ${report.machine.node}, load average ${loads(report.machine.loadAverageBefore)} at the start, ` +
      `${loads(report.machine.loadAverageAfter)} at the end`,
  ];
  for (const s of report.scenarios) {
    lines.push('', `${s.id}: ${s.title}`);
    if (s.status === 'not-available') {
      const targets = s.targets.length > 0 ? ` (targets: ${s.targets.join(', ')})` : '';
      lines.push(`  not yet available: ${s.reason}${targets}`);
    } else if (s.status === 'failed') {
      lines.push(`  FAILED: ${s.error}`);
    } else {
      lines.push(...s.measurements.map(measurementLine), ...s.checks.map(checkLine));
      lines.push(...s.notes.map((n) => `  · ${n}`));
    }
  }
  return `${lines.join('\n')}\n`;
}
