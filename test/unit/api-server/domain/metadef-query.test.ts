import {
  checkObjectListQuery,
  namespacePageLinks,
  parseNamespaceListQuery,
  parseNamespaceShowQuery,
  parseTagListQuery,
} from '../../../../api-server/src/domain/metadef-query.js';
import { asHttpError } from '../../../../api-server/src/http/error-map.js';

const limits = { limitParamDefault: 25, apiLimitMax: 1000 };
const q = (s: string): URLSearchParams => new URLSearchParams(s);

function badRequest(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    const http = asHttpError(err);
    if (http?.status === 400) return http.explanation;
    throw err;
  }
  throw new Error('accepted');
}

describe('namespace list query', () => {
  test('defaults: 25 newest first, created_at then id', () => {
    expect(parseNamespaceListQuery(q(''), limits)).toEqual({
      limit: 25,
      marker: null,
      sortKeys: ['created_at', 'id'],
      sortDir: 'desc',
      visibility: null,
      resourceTypes: null,
    });
  });

  test('a sort key goes before the tie-breakers, which are not repeated; limits are capped', () => {
    const query = parseNamespaceListQuery(q('sort_key=namespace&sort_dir=asc&limit=5000'), limits);
    expect(query.sortKeys).toEqual(['namespace', 'created_at', 'id']);
    expect(query.limit).toBe(1000);
    // Upstream inserts nothing for id, so id sorts after created_at.
    expect(parseNamespaceListQuery(q('sort_key=id'), limits).sortKeys).toEqual(['created_at', 'id']);
  });

  test("refusals use upstream's messages", () => {
    expect(badRequest(() => parseNamespaceListQuery(q('sort_dir=up'), limits))).toBe(
      'Invalid sort direction: up',
    );
    expect(badRequest(() => parseNamespaceListQuery(q('visibility=shared'), limits))).toBe(
      'Invalid visibility value: shared',
    );
    expect(badRequest(() => parseNamespaceListQuery(q('limit=-1'), limits))).toBe(
      'limit param must be positive',
    );
    expect(badRequest(() => parseNamespaceListQuery(q('limit=abc'), limits))).toBe(
      'limit param must be an integer',
    );
    expect(badRequest(() => parseNamespaceListQuery(q('sort_key=owner_id'), limits))).toBe(
      'Sort key supplied is invalid: owner_id',
    );
  });

  test('resource_types splits on commas; visibility filters on the first value, checks the last', () => {
    const query = parseNamespaceListQuery(
      q('resource_types=OS::Glance::Image,OS::Nova::Flavor&visibility=bogus&visibility=public'),
      limits,
    );
    expect(query.resourceTypes).toEqual(['OS::Glance::Image', 'OS::Nova::Flavor']);
    expect(query.visibility).toBe('bogus');
  });
});

describe('namespace page links', () => {
  test('first repeats the query without the marker; next appends the new marker, quote_plus encoded', () => {
    const links = namespacePageLinks(q('limit=2&marker=old&foo=a b&foo=c'), 'OS::Compute::Libvirt');
    expect(links).toEqual({
      first: '/v2/metadefs/namespaces?limit=2&foo=c',
      next: '/v2/metadefs/namespaces?limit=2&foo=c&marker=OS%3A%3ACompute%3A%3ALibvirt',
    });
    expect(namespacePageLinks(q(''), null)).toEqual({ first: '/v2/metadefs/namespaces' });
  });
});

describe('tag and object list queries', () => {
  test('tags: no limit unless one is given, and limit=0 is a limit of 0', () => {
    expect(parseTagListQuery(q('')).limit).toBeNull();
    expect(parseTagListQuery(q('limit=0')).limit).toBe(0);
    expect(parseTagListQuery(q('limit=3&marker=t&sort_key=name')).sortKeys).toEqual([
      'name',
      'created_at',
      'id',
    ]);
    expect(badRequest(() => parseTagListQuery(q('limit=x')))).toBe('limit param must be an integer');
  });

  test('objects: checked although upstream then ignores them; 0 is not positive here', () => {
    expect(() => checkObjectListQuery(q('limit=3&visibility=shared'))).not.toThrow();
    expect(badRequest(() => checkObjectListQuery(q('limit=0')))).toBe('limit param must be positive');
  });

  test('namespace show: visibility checked, resource_type picked', () => {
    expect(parseNamespaceShowQuery(q('resource_type=OS::Glance::Image'))).toEqual({
      resourceType: 'OS::Glance::Image',
    });
    expect(badRequest(() => parseNamespaceShowQuery(q('visibility=shared')))).toBe(
      'Invalid visibility value: shared',
    );
  });
});
