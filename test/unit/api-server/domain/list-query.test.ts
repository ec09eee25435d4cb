import { parseListQuery, splitInList } from '../../../../api-server/src/domain/list-query.js';
import { config, httpError } from './helpers.js';

const q = (text: string) => parseListQuery(new URLSearchParams(text), config);

describe('parseListQuery', () => {
  it("applies upstream's defaults", () => {
    expect(q('')).toEqual({
      limit: 25,
      marker: null,
      sort: [
        { key: 'created_at', dir: 'desc' },
        { key: 'id', dir: 'desc' },
      ],
      filters: {
        visibility: null,
        member_status: 'accepted',
        os_hidden: false,
        protected: null,
        tags: [],
        size_min: null,
        size_max: null,
        ranges: [],
        created_at: null,
        updated_at: null,
        oneOf: {},
        equals: {},
        properties: {},
      },
    });
  });

  it('caps the limit at api_limit_max and reads integers the way Python does', () => {
    expect(q('limit=5000').limit).toBe(1000);
    expect(q('limit=%205%20').limit).toBe(5);
    expect(q('limit=1_0').limit).toBe(10);
    expect(q('limit=0').limit).toBe(0);
    expect(parseListQuery({ limit: '7', marker: 'm' }, config)).toMatchObject({ limit: 7, marker: 'm' });
  });

  it.each([
    ['limit=abc', 'limit param must be an integer'],
    ['limit=-1', 'limit param must be positive'],
    ['member_status=bogus', 'Invalid status: bogus'],
    ['visibility=bogus', 'Invalid visibility value: bogus'],
    ['changes-since=2020', 'The "changes-since" filter is no longer available on v2.'],
    [
      'sort_key=bogus',
      'Invalid sort key: bogus. It must be one of the following: name, status, container_format, disk_format, ' +
        'size, id, created_at, updated_at.',
    ],
    ['sort_dir=up', 'Invalid sort direction: up'],
    ['sort=name:up', 'Invalid sort direction: up'],
    ['sort=name:asc&sort_key=name', 'Old and new sorting syntax cannot be combined'],
    [
      'sort_key=name&sort_dir=asc&sort_dir=desc&sort_dir=asc',
      'Number of sort dirs does not match the number of sort keys',
    ],
    ['os_hidden=yes', "Invalid value 'yes' for 'os_hidden' filter. Valid values are 'true' or 'false'."],
    ['protected=TRUE', "Invalid value 'TRUE' for 'protected' filter. Valid values are 'true' or 'false'."],
    ['size_min=abc', 'Unable to filter on a range with a non-numeric value.'],
    ['size_max=', 'Unable to filter on a range with a non-numeric value.'],
    ['created_at=gt:bogus', 'Bad "created_at" query filter format. Use ISO 8601 DateTime notation.'],
    ['created_at=gt:2020-02-30', 'Bad "created_at" query filter format. Use ISO 8601 DateTime notation.'],
    ['updated_at=lte:2020-13-01', 'Bad "updated_at" query filter format. Use ISO 8601 DateTime notation.'],
    ['created_at=gt:202001', 'Bad "created_at" query filter format. Use ISO 8601 DateTime notation.'],
    ['created_at=foo:2020-01-01', 'Unable to filter on a unknown operator.'],
    ['name=foo:bar', "Unable to filter by unknown operator 'foo'."],
    ['status=neq:active', "Unable to filter by unknown operator 'neq'."],
    ['name=in:"a,b', 'Invalid filter value "a,b. The quote is not closed.'],
    ['name=in:x"a"', 'Invalid filter value x"a". There is no comma before opening quotation mark.'],
    ['name=in:"a"x', 'Invalid filter value "a"x. There is no comma after closing quotation mark.'],
  ])('answers %s with 400 as upstream does', (query, message) => {
    const err = httpError(() => q(query));
    expect([err.status, err.explanation]).toEqual([400, message]);
  });

  it('sorts with either syntax and appends created_at and id as tiebreakers', () => {
    expect(q('sort_key=name&sort_dir=asc&sort_key=size').sort).toEqual([
      { key: 'name', dir: 'asc' },
      { key: 'size', dir: 'asc' },
      { key: 'created_at', dir: 'asc' },
      { key: 'id', dir: 'asc' },
    ]);
    expect(q('sort=name,size:asc').sort).toEqual([
      { key: 'name', dir: 'desc' },
      { key: 'size', dir: 'asc' },
      { key: 'created_at', dir: 'desc' },
      { key: 'id', dir: 'desc' },
    ]);
    expect(q('sort_key=id&sort_key=created_at&sort_dir=asc&sort_dir=desc').sort).toEqual([
      { key: 'id', dir: 'asc' },
      { key: 'created_at', dir: 'desc' },
    ]);
  });

  it('reads the named filters', () => {
    const { filters } = q(
      'visibility=community&member_status=all&os_hidden=TRUE&protected=false&tag=a&tag=%20b%20' +
        '&size_min=5&size_max=10&min_ram_max=512&created_at=gt:2020-01-01T10:00:00%2B02:00&updated_at=2021-06-01',
    );
    expect(filters).toMatchObject({
      visibility: 'community',
      member_status: 'all',
      os_hidden: true,
      protected: false,
      tags: ['a', 'b'],
      size_min: 5,
      size_max: 10,
      ranges: [{ column: 'min_ram', op: 'lte', value: 512 }],
      created_at: { op: 'gt', value: new Date('2020-01-01T08:00:00Z') },
      updated_at: { op: 'eq', value: new Date('2021-06-01T00:00:00Z') },
    });
  });

  it('treats a bare ISO time as an equality filter even though it holds colons', () => {
    expect(q('created_at=2020-01-01T10:00:00').filters.created_at).toEqual({
      op: 'eq',
      value: new Date('2020-01-01T10:00:00Z'),
    });
  });

  it('turns the in:/eq: columns, plain columns and anything else into equality filters', () => {
    const { filters } = q(
      'name=in:"a,b",c&status=active&id=eq:x&owner=z&checksum=y&os_hash_value=h&foo=bar&foo=baz',
    );
    expect(filters.oneOf).toEqual({ name: ['a,b', 'c'], status: ['active'], id: ['x'] });
    expect(filters.equals).toEqual({ owner: 'z', checksum: 'y', os_hash_value: 'h' });
    // Like webob's MultiDict turned into a dict, the last value of a repeated key wins.
    expect(filters.properties).toEqual({ foo: 'baz' });
  });
});

describe('splitInList', () => {
  it('splits on commas outside quotes', () => {
    expect(splitInList('a,"b,c",d')).toEqual(['a', 'b,c', 'd']);
    expect(splitInList('a,,b')).toEqual(['a', '', 'b']);
    expect(splitInList('')).toEqual([]);
  });
});
