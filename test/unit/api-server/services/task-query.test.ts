import { parseTaskListQuery } from '../../../../api-server/src/services/task-query.js';
import { httpError } from '../domain/helpers.js';

/** The status and text a refused query is answered with. */
function refusal(fn: () => unknown): string {
  const http = httpError(fn);
  return `${http.status} ${http.explanation}`;
}

describe('parseTaskListQuery', () => {
  const defaults = { limitParamDefault: 25, apiLimitMax: 1000 };

  it('reads paging, sorting and column filters', () => {
    const q = parseTaskListQuery(
      [
        ['limit', '5000'],
        ['status', 'success'],
        ['sort_key', 'status'],
        ['sort_dir', 'asc'],
        ['bogus', 'x'],
      ],
      defaults,
    );
    expect(q).toMatchObject({
      limit: 1000,
      sortKey: 'status',
      sortDir: 'asc',
      filters: { status: 'success' },
    });
    expect([...q.params.keys()]).toEqual(['limit', 'status', 'sort_key', 'sort_dir', 'bogus']);
  });

  it.each([
    [[['limit', 'x']], '400 limit param must be an integer'],
    [[['limit', '-1']], '400 limit param must be positive'],
    [[['marker', 'abc']], '400 Invalid marker format'],
    [[['sort_dir', 'up']], '400 Invalid sort direction: up'],
    [[['sort_key', 'input']], '400 Sort key supplied was not valid.'],
    [[['status', 'done']], '400 Invalid status value: done'],
    [[['type', 'api_image_import']], '400 Invalid type value: api_image_import'],
  ] as Array<[Array<[string, string]>, string]>)('refuses %j: %s', (pairs, expected) => {
    expect(refusal(() => parseTaskListQuery(pairs, defaults))).toBe(expected);
  });
});
