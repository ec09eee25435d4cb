import { pythonJson } from '../domain/python-json.js';
import { acceptableOffers } from './accept.js';
import type { HttpError } from './errors.js';

export interface ErrorRequest {
  method: string;
  accept: string | undefined;
  contentType: string | undefined;
}

export interface RenderedError {
  contentType: string;
  body: string;
}

// webob substitutes WSGI environ keys into these statuses' own templates and ignores the explanation; an
// absent CONTENT_TYPE stays as the literal placeholder, exactly as upstream sends it.
function bodyTemplate(err: HttpError, req: ErrorRequest, escape: (s: string) => string): string {
  const detail = escape(err.detail);
  switch (err.status) {
    case 405:
      return `The method ${escape(req.method)} is not allowed for this resource. <br /><br />\n${detail}`;
    case 415: {
      const ct = req.contentType === undefined ? '${CONTENT_TYPE}' : escape(req.contentType);
      return `The request media type ${ct} is not supported by this server.\n<br /><br />\n${detail}`;
    }
    case 501:
      return `\nThe request method ${escape(req.method)} is not implemented for this server. <br /><br />\n${detail}`;
    default:
      return `${escape(err.explanation)}<br /><br />\n${detail}\n\n`;
  }
}

function htmlEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '&') out += '&amp;';
    else if (ch === '<') out += '&lt;';
    else if (ch === '>') out += '&gt;';
    else if (ch === '"') out += '&quot;';
    else if (ch === "'") out += '&#x27;';
    else if (code > 0x7e) out += `&#${code};`;
    else out += ch;
  }
  return out;
}

function stripTags(s: string): string {
  return s
    .replace(/\n/g, ' ')
    .replace(/\r/g, '')
    .replace(/<br.*?>/gis, '\n')
    .replace(/<!--|-->/g, '')
    .replace(/<.*?>/gs, '');
}

/** The body webob's HTTPException would send for this request: HTML, JSON or plain text by Accept. */
export function renderError(err: HttpError, req: ErrorRequest): RenderedError {
  const status = `${err.status} ${err.title}`;
  const match = acceptableOffers(req.accept, ['text/html', 'application/json'])[0];
  if (match === 'text/html') {
    const body = bodyTemplate(err, req, htmlEscape);
    return {
      contentType: 'text/html; charset=UTF-8',
      body: `<html>\n <head>\n  <title>${status}</title>\n </head>\n <body>\n  <h1>${status}</h1>\n  ${body}\n </body>\n</html>`,
    };
  }
  const raw = bodyTemplate(err, req, (s) => s);
  if (match === 'application/json') {
    return {
      contentType: 'application/json',
      body: pythonJson({ message: raw, code: status, title: err.title }),
    };
  }
  return { contentType: 'text/plain; charset=UTF-8', body: `${status}\n\n${stripTags(raw)}` };
}
