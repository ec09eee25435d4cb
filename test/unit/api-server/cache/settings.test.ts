import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheSettings } from '../../../../api-server/src/cache/settings.js';
import { ConfigError } from '../../../../api-server/src/config/errors.js';
import { loadConfig } from '../../../../api-server/src/config/load.js';

const CONNECTION = 'mysql+pymysql://glance:db-secret-pw@127.0.0.1/glance';
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'glance-cache-config-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
function load(defaults: string, flavor = ''): ReturnType<typeof loadConfig> {
  const file = join(dir, `glance-api-${++counter}.conf`);
  writeFileSync(
    file,
    `[DEFAULT]\n${defaults}\n[database]\nconnection = ${CONNECTION}\n[paste_deploy]\nflavor = ${flavor}\n`,
  );
  return loadConfig(file, {});
}

function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

test('without image_cache_dir there is no cache, as upstream', () => {
  expect(cacheSettings(load(''))).toBeNull();
});

test("upstream's defaults: 10 GiB, a day's stall time, and the cache API without the download middleware", () => {
  expect(cacheSettings(load('image_cache_dir = /var/cache/glance'))).toEqual({
    dir: '/var/cache/glance',
    maxSize: 10 * 1024 ** 3,
    stallTimeMs: 86_400_000,
    prefetchIntervalMs: 300_000,
    servesDownloads: false,
  });
});

test('the options are read, the driver case-insensitively, and a caching flavor serves downloads', () => {
  const cfg = load(
    [
      'image_cache_dir = /c',
      'image_cache_max_size = 1000',
      'image_cache_stall_time = 5',
      'image_cache_driver = XATTR',
      'cache_prefetcher_interval = 2',
      'image_cache_sqlite_db = cache.db',
    ].join('\n'),
    'cachemanagement',
  );
  expect(cfg.DEFAULT.image_cache_driver).toBe('xattr');
  expect(cacheSettings(cfg)).toEqual({
    dir: '/c',
    maxSize: 1000,
    stallTimeMs: 5000,
    prefetchIntervalMs: 2000,
    servesDownloads: true,
  });
});

test('bad values are configuration errors', () => {
  const problems = problemsOf(() =>
    load('image_cache_driver = memcached\nimage_cache_max_size = -1\ncache_prefetcher_interval = 0'),
  );
  expect(problems.map((p) => /:(DEFAULT:[a-z_]+):/.exec(p)?.[1])).toEqual(
    expect.arrayContaining([
      'DEFAULT:image_cache_driver',
      'DEFAULT:image_cache_max_size',
      'DEFAULT:cache_prefetcher_interval',
    ]),
  );
});

test('a caching flavor needs image_cache_dir, as upstream’s cache middleware does', () => {
  const cfg = load('', 'caching');
  expect(problemsOf(() => cacheSettings(cfg))).toEqual([
    expect.stringContaining('image_cache_dir: is required with [paste_deploy] flavor caching'),
  ]);
  expect(problemsOf(() => cacheSettings(load('image_cache_dir = relative/dir')))).toEqual([
    expect.stringContaining('must be an absolute path'),
  ]);
});
