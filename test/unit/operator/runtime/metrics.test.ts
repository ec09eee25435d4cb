import { Counter, Gauge, Histogram, Registry } from '../../../../operator/src/runtime/metrics.js';

describe('Prometheus text format', () => {
  it('renders HELP, TYPE and one line per series, escaping label values', () => {
    const r = new Registry();
    const c = r.register(new Counter('ops_total', 'Operations.\nTwo lines.'));
    c.inc({ system: 'kube', op: 'apply "x"' });
    c.inc({ system: 'kube', op: 'apply "x"' }, 2);
    c.inc({ system: 'ceph', op: 'a\\b' });
    expect(r.render()).toBe(
      [
        '# HELP ops_total Operations.\\nTwo lines.',
        '# TYPE ops_total counter',
        'ops_total{op="apply \\"x\\"",system="kube"} 3',
        'ops_total{op="a\\\\b",system="ceph"} 1',
        '',
      ].join('\n'),
    );
    expect(c.sum({ system: 'kube' })).toBe(3);
    expect(c.sum()).toBe(4);
  });

  it('renders cumulative histogram buckets with +Inf, sum and count', () => {
    const r = new Registry();
    const h = r.register(new Histogram('d_seconds', 'Durations.', [0.1, 1]));
    h.observe(0.05);
    h.observe(0.5);
    h.observe(5);
    expect(r.render().split('\n').slice(2, -1)).toEqual([
      'd_seconds_bucket{le="0.1"} 1',
      'd_seconds_bucket{le="1"} 2',
      'd_seconds_bucket{le="+Inf"} 3',
      'd_seconds_sum 5.55',
      'd_seconds_count 3',
    ]);
  });

  it('asks gauge collectors for values at scrape time', () => {
    const r = new Registry();
    const g = r.register(new Gauge('depth', 'Depth.'));
    let depth = 1;
    g.onCollect((gauge) => gauge.set(depth, { controller: 'x' }));
    expect(r.render()).toContain('depth{controller="x"} 1');
    depth = 7;
    expect(r.render()).toContain('depth{controller="x"} 7');
  });

  it('refuses a decreasing counter, a bad name and a duplicate', () => {
    const r = new Registry();
    expect(() => new Counter('c', '').inc({}, -1)).toThrow(RangeError);
    expect(() => r.register(new Counter('bad-name', ''))).toThrow();
    r.register(new Counter('c', ''));
    expect(() => r.register(new Counter('c', ''))).toThrow();
  });
});
