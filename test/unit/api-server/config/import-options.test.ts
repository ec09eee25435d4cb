import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../../api-server/src/config/load.js';

// The options of glance-download and distributed import, read as oslo.config reads them.

const minimal = '[database]\nconnection = mysql+pymysql://glance:pw@127.0.0.1/glance\n';
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'glance-import-options-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function load(text: string): ReturnType<typeof loadConfig> {
  const path = join(dir, `glance-api-${Math.random().toString(16).slice(2)}.conf`);
  writeFileSync(path, text);
  return loadConfig(path, {});
}

describe('import options', () => {
  it("defaults to upstream's glance-download property prefixes and no worker URL", () => {
    const cfg = load(minimal);
    expect(cfg.glance_download_properties.extra_properties).toEqual([
      'hw_',
      'trait:',
      'os_distro',
      'os_secure_boot',
      'os_type',
    ]);
    expect(cfg.DEFAULT.worker_self_reference_url).toBeNull();
  });

  it('reads worker_self_reference_url and a quoted extra_properties list', () => {
    const cfg = load(
      `[DEFAULT]\nworker_self_reference_url = http://10.0.0.5:9292\n` +
        `[glance_download_properties]\nextra_properties = ["os_", 'architecture']\n` +
        minimal,
    );
    expect(cfg.DEFAULT.worker_self_reference_url).toBe('http://10.0.0.5:9292');
    expect(cfg.glance_download_properties.extra_properties).toEqual(['os_', 'architecture']);
  });

  it('reports an unknown option of [glance_download_properties]', () => {
    expect(() => load(`[glance_download_properties]\nextra_property = hw_\n` + minimal)).toThrow(
      /glance_download_properties:extra_property: unknown option/,
    );
  });
});
