import { HttpError } from '../../../../api-server/src/http/errors.js';
import { requestedSpan } from '../../../../api-server/src/http/range.js';

// Expected spans follow upstream's get_range_from_request and image_data serializer with webob's Range parser.
describe('requestedSpan', () => {
  const size = 10;

  test.each([
    ['bytes=0-4', { start: 0, end: 4 }],
    ['bytes=2-', { start: 2, end: 9 }],
    ['bytes=2-100', { start: 2, end: 9 }],
    ['bytes=-3', { start: 7, end: 9 }],
    ['bytes=-10', { start: 0, end: 9 }],
    ['bytes=-50', { start: 0, end: 9 }],
    ['bytes=-0', { start: 0, end: 9 }],
    ['BYTES = 1 - 1', { start: 1, end: 1 }],
    ['bytes=3-5trailing', { start: 3, end: 5 }],
  ])('Range %p', (range, span) => {
    expect(requestedSpan({ range }, size)).toEqual(span);
  });

  test('no range header means the whole image', () => {
    expect(requestedSpan({}, size)).toBeNull();
  });

  const failure = (headers: { range?: string; 'content-range'?: string }, n = size): HttpError => {
    try {
      requestedSpan(headers, n);
    } catch (err) {
      if (err instanceof HttpError) return err;
    }
    throw new Error('expected an HttpError');
  };

  test('several ranges are a 400', () => {
    const err = failure({ range: 'bytes=0-1,3-4' });
    expect(err.status).toBe(400);
    expect(err.explanation).toMatch(/multiple ranges are not supported/);
  });

  test.each(['bytes=5-2', 'items=0-1', 'bytes=-', 'bytes 0-1'])('unparseable %p is a 416', (range) => {
    const err = failure({ range });
    expect(err.status).toBe(416);
    expect(err.detail).toBe('Invalid Range header.');
  });

  test('a start at or past the end is a 416 naming the valid range', () => {
    const err = failure({ range: 'bytes=10-' });
    expect(err.status).toBe(416);
    expect(err.detail).toBe(
      'Invalid start position in Range header. Start position MUST be in the inclusive range [0, 9].',
    );
  });

  test('any range of an empty image is a 416', () => {
    expect(failure({ range: 'bytes=0-0' }, 0).status).toBe(416);
    expect(failure({ range: 'bytes=-1' }, 0).status).toBe(416);
  });

  test('the legacy request Content-Range is honoured when there is no Range', () => {
    expect(requestedSpan({ 'content-range': 'bytes 1-3/10' }, size)).toEqual({ start: 1, end: 3 });
    expect(requestedSpan({ 'content-range': 'bytes 1-3/*' }, size)).toEqual({ start: 1, end: 3 });
    expect(requestedSpan({ range: 'bytes=0-0', 'content-range': 'bytes 1-3/10' }, size)).toEqual({
      start: 0,
      end: 0,
    });
  });

  test.each(['bytes */10', 'bytes 3-1/10', 'bytes 0-20/10', 'bytes 0-20/*', 'bytes 10-12/20', 'nonsense'])(
    'Content-Range %p that cannot be served is a 416',
    (contentRange) => {
      expect(failure({ 'content-range': contentRange }).status).toBe(416);
    },
  );
});
