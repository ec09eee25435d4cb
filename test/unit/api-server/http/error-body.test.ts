import { acceptableOffers } from '../../../../api-server/src/http/accept.js';
import { pythonJson } from '../../../../api-server/src/domain/python-json.js';
import { renderError } from '../../../../api-server/src/http/error-body.js';
import { HttpError } from '../../../../api-server/src/http/errors.js';

// Expected values were produced by running webob 1.8.6 (Debian bookworm) on the same inputs.
describe('Accept negotiation (webob acceptable_offers)', () => {
  const offers = ['text/html', 'application/json'];
  test.each([
    [undefined, []],
    ['', []],
    ['application/json; charset=utf-8', []],
    ['text/html;level=1', []],
    ['application/json;q=0.5,text/html;q=0.5', ['text/html', 'application/json']],
    ['application/json;q=0.9, */*', ['text/html', 'application/json']],
    ['application/*;q=0.2, text/*;q=0.3', ['text/html', 'application/json']],
    ['application/json ; q = 0.5', ['text/html', 'application/json']],
    ['application/json;q=1.5', ['text/html', 'application/json']],
    ['garbage', ['text/html', 'application/json']],
    [',,application/json,,', ['application/json']],
    ['application/json;q=0.5;foo=bar', ['application/json']],
    ['*/*;q=0', []],
    ['APPLICATION/JSON', ['application/json']],
    ['application/json;foo="a,b"', []],
  ])('%p', (header, expected) => {
    expect(acceptableOffers(header, offers)).toEqual(expected);
  });
});

describe('webob error bodies', () => {
  const notFound = new HttpError(404, 'No image found with ID <x> & "y"');
  const req = (accept: string | undefined, method = 'GET', contentType?: string) => ({
    method,
    accept,
    contentType,
  });

  test('JSON when the client accepts JSON', () => {
    expect(renderError(notFound, req('application/json'))).toEqual({
      contentType: 'application/json',
      body: '{"message": "No image found with ID <x> & \\"y\\"<br /><br />\\n\\n\\n", "code": "404 Not Found", "title": "Not Found"}',
    });
  });

  test('plain text, tags stripped, without an Accept header', () => {
    expect(renderError(notFound, req(undefined))).toEqual({
      contentType: 'text/plain; charset=UTF-8',
      body: '404 Not Found\n\nNo image found with ID  & "y"\n\n   ',
    });
  });

  test('escaped HTML for */*', () => {
    expect(renderError(notFound, req('*/*')).body).toBe(
      '<html>\n <head>\n  <title>404 Not Found</title>\n </head>\n <body>\n  <h1>404 Not Found</h1>\n' +
        '  No image found with ID &lt;x&gt; &amp; &quot;y&quot;<br /><br />\n\n\n\n </body>\n</html>',
    );
  });

  test('non-ASCII is escaped as Python does, in JSON and in HTML', () => {
    const err = new HttpError(403, "é'ü");
    expect(renderError(err, req('application/json')).body).toContain('"message": "\\u00e9\'\\u00fc<br />');
    expect(renderError(err, req('text/html')).body).toContain('&#233;&#x27;&#252;<br /><br />');
  });

  test('default explanations are webob defaults', () => {
    expect(JSON.parse(renderError(new HttpError(404), req('application/json')).body)).toEqual({
      message: 'The resource could not be found.<br /><br />\n\n\n',
      code: '404 Not Found',
      title: 'Not Found',
    });
  });

  test('405 uses its own template naming the method', () => {
    const err = new HttpError(405, undefined, { Allow: 'GET, POST' });
    expect(renderError(err, req('application/json', 'PUT')).body).toBe(
      '{"message": "The method PUT is not allowed for this resource. <br /><br />\\n", ' +
        '"code": "405 Method Not Allowed", "title": "Method Not Allowed"}',
    );
    expect(renderError(err, req(undefined, 'PUT')).body).toBe(
      '405 Method Not Allowed\n\nThe method PUT is not allowed for this resource. \n\n ',
    );
  });

  test('415 names the request media type, or keeps the placeholder when there is none', () => {
    const err = new HttpError(415, 'ignored by the template');
    expect(JSON.parse(renderError(err, req('application/json', 'PATCH', 'text/plain')).body).message).toBe(
      'The request media type text/plain is not supported by this server.\n<br /><br />\n',
    );
    expect(JSON.parse(renderError(err, req('application/json', 'PATCH')).body).message).toBe(
      'The request media type ${CONTENT_TYPE} is not supported by this server.\n<br /><br />\n',
    );
  });

  test('a detail follows the default explanation (glance passes positional messages so)', () => {
    const err = new HttpError(416, undefined, {}, 'Invalid Range header.');
    expect(renderError(err, req('application/json')).body).toBe(
      '{"message": "The Range requested is not available.<br /><br />\\nInvalid Range header.\\n\\n", ' +
        '"code": "416 Request Range Not Satisfiable", "title": "Request Range Not Satisfiable"}',
    );
    expect(renderError(err, req(undefined)).body).toBe(
      '416 Request Range Not Satisfiable\n\nThe Range requested is not available.\n\n Invalid Range header.  ',
    );
  });
});

describe('pythonJson', () => {
  test('uses Python separators and ASCII escapes, nested and empty containers included', () => {
    expect(pythonJson({ a: [1, { b: 'x, y' }], c: {}, d: [], e: 'ö😀' })).toBe(
      '{"a": [1, {"b": "x, y"}], "c": {}, "d": [], "e": "\\u00f6\\ud83d\\ude00"}',
    );
  });
});
