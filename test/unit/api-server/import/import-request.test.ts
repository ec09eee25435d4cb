import type { TaskRecord } from '../../../../api-server/src/db/task-repo.js';
import { asHttpError } from '../../../../api-server/src/http/error-map.js';
import { lockIsStale, mergeStoreList } from '../../../../api-server/src/import/bookkeeping.js';
import {
  parseImportRequest,
  requestedStores,
  type ImportMethod,
} from '../../../../api-server/src/import/import-request.js';

const ENABLED: ImportMethod[] = ['glance-direct', 'web-download', 'copy-image'];

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    const http = asHttpError(err);
    if (http) return `${http.status} ${http.explanation}`;
    throw err;
  }
  throw new Error('accepted');
}

describe('parseImportRequest', () => {
  it('keeps the body whole and reads the method', () => {
    const body = { method: { name: 'web-download', uri: 'http://x/y' }, extra: 1 };
    const request = parseImportRequest(body, ENABLED);
    expect(request).toMatchObject({ method: 'web-download', uri: 'http://x/y', allStoresMustSucceed: true });
    expect(request.body).toBe(body);
  });

  it.each([
    [{}, "400 Import request requires a 'method' field."],
    [{ method: {} }, "400 Import request requires a 'name' field."],
    [{ method: 'glance-direct' }, "400 Import request requires a 'name' field."],
    [{ method: { name: 'glance-download' } }, "400 Unknown import method name 'glance-download'."],
    [
      { method: { name: 'glance-direct' }, all_stores_must_succeed: 'no' },
      "400 'all_stores_must_succeed' must be boolean value only",
    ],
    [{ method: { name: 'glance-direct' }, all_stores: null }, "400 'all_stores' must be boolean value only"],
    [[1], '400 Request body must be a JSON object.'],
  ])('refuses %j: %s', (body, expected) => {
    expect(refusal(() => parseImportRequest(body, ENABLED))).toBe(expected);
  });
});

describe('requestedStores (enabled_backends)', () => {
  const request = (extra: Record<string, unknown>) =>
    parseImportRequest({ method: { name: 'glance-direct' }, ...extra }, ENABLED);

  it('defaults to the header, then to the default backend', () => {
    expect(requestedStores(request({}), {}, ['a', 'b'], 'a')).toEqual(['a']);
    expect(requestedStores(request({}), { 'x-image-meta-store': 'b' }, ['a', 'b'], 'a')).toEqual(['b']);
    expect(requestedStores(request({ all_stores: true }), {}, ['a', 'b'], 'a')).toEqual(['a', 'b']);
  });

  it('leaves read-only stores out of all_stores, but a read-only store may still be named', () => {
    expect(requestedStores(request({ all_stores: true }), {}, ['a', 'web', 'b'], 'a', ['web'])).toEqual([
      'a',
      'b',
    ]);
    expect(requestedStores(request({ stores: ['web'] }), {}, ['a', 'web'], 'a', ['web'])).toEqual(['web']);
  });

  it('refuses unknown stores and conflicting ways of naming them', () => {
    expect(refusal(() => requestedStores(request({ stores: ['c'] }), {}, ['a'], 'a'))).toBe(
      '409 Store for identifier c not found',
    );
    expect(
      refusal(() => requestedStores(request({ all_stores: true, stores: ['a'] }), {}, ['a'], 'a')),
    ).toContain("All_stores parameter can't be used");
  });
});

describe('mergeStoreList', () => {
  it('adds, removes, sorts and drops empty names', () => {
    expect(mergeStoreList('', ['b', 'a'])).toBe('a,b');
    expect(mergeStoreList('a,b', ['b'], true)).toBe('a');
    expect(mergeStoreList(undefined, [null])).toBe('');
    expect(mergeStoreList('c', [null, 'a'])).toBe('a,c');
  });
});

describe('lockIsStale', () => {
  const task = (status: TaskRecord['status'], minutesAgo: number): TaskRecord => ({
    id: 't',
    type: 'api_image_import',
    status,
    owner: 'p',
    expires_at: null,
    created_at: new Date(0),
    updated_at: new Date(Date.now() - minutesAgo * 60_000),
    deleted_at: null,
    deleted: false,
    image_id: null,
    request_id: null,
    user_id: null,
    input: null,
    result: null,
    message: null,
  });

  it('lets a lock go after an hour without progress, two for a task never started', () => {
    const now = new Date();
    expect(lockIsStale(null, now)).toBe(true);
    expect(lockIsStale(task('processing', 59), now)).toBe(false);
    expect(lockIsStale(task('processing', 61), now)).toBe(true);
    expect(lockIsStale(task('pending', 61), now)).toBe(false);
    expect(lockIsStale(task('pending', 121), now)).toBe(true);
  });
});
