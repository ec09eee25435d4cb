import { readdirSync, readFileSync } from 'node:fs';

const root = new URL('../../../', import.meta.url);
const CRDS = new URL('crds/', root);
const CHART_CRDS = new URL('charts/glance-operator/crds/', root);

const yamlFiles = (dir: URL) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort();

// `npm run gen:crds` writes crds/ from operator/src/api/ and copies it into the chart: one source, two places.
describe('the chart ships the CRDs of crds/', () => {
  it('has the same files (run `npm run gen:crds` when this fails)', () => {
    expect(yamlFiles(CHART_CRDS)).toEqual(yamlFiles(CRDS));
    expect(yamlFiles(CRDS).length).toBeGreaterThan(0);
  });

  it.each(yamlFiles(CRDS))('%s is byte for byte the same in the chart', (file) => {
    expect(readFileSync(new URL(file, CHART_CRDS), 'utf8')).toBe(readFileSync(new URL(file, CRDS), 'utf8'));
  });
});
