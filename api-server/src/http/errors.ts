// Status titles and default explanations are webob 1.8's, so error bodies read exactly like upstream's.
const STATUS: Record<number, { title: string; explanation: string }> = {
  400: {
    title: 'Bad Request',
    explanation:
      'The server could not comply with the request since it is either malformed or otherwise incorrect.',
  },
  401: {
    title: 'Unauthorized',
    explanation:
      'This server could not verify that you are authorized to access the document you requested. Either you ' +
      'supplied the wrong credentials (e.g., bad password), or your browser does not understand how to supply the ' +
      'credentials required.',
  },
  403: { title: 'Forbidden', explanation: 'Access was denied to this resource.' },
  404: { title: 'Not Found', explanation: 'The resource could not be found.' },
  405: {
    title: 'Method Not Allowed',
    explanation:
      'The server could not comply with the request since it is either malformed or otherwise incorrect.',
  },
  408: { title: 'Request Timeout', explanation: 'The server timed out waiting for the request to complete.' },
  409: { title: 'Conflict', explanation: 'There was a conflict when trying to complete your request.' },
  410: {
    title: 'Gone',
    explanation: 'This resource is no longer available. No forwarding address is given.',
  },
  411: { title: 'Length Required', explanation: 'Content-Length header required.' },
  413: {
    title: 'Request Entity Too Large',
    explanation: 'The body of your request was too large for this server.',
  },
  415: {
    title: 'Unsupported Media Type',
    explanation:
      'The server could not comply with the request since it is either malformed or otherwise incorrect.',
  },
  416: { title: 'Request Range Not Satisfiable', explanation: 'The Range requested is not available.' },
  431: { title: 'Request Header Fields Too Large', explanation: 'The request header fields were too large' },
  500: {
    title: 'Internal Server Error',
    explanation: 'The server has either erred or is incapable of performing the requested operation.',
  },
  501: {
    title: 'Not Implemented',
    explanation: 'The server has either erred or is incapable of performing the requested operation.',
  },
  502: { title: 'Bad Gateway', explanation: 'Bad gateway.' },
  503: {
    title: 'Service Unavailable',
    explanation: 'The server is currently unavailable. Please try again at a later time.',
  },
  504: { title: 'Gateway Timeout', explanation: 'The gateway has timed out.' },
};

export function statusTitle(status: number): string {
  return STATUS[status]?.title ?? (status >= 500 ? 'Internal Server Error' : 'Bad Request');
}

/**
 * An HTTP error rendered like a webob HTTPException. `explanation` replaces webob's default sentence (glance's
 * `explanation=msg`); `detail` is appended after it (glance's positional `HTTPxxx(msg)`).
 */
export class HttpError extends Error {
  readonly status: number;
  readonly explanation: string;
  readonly headers: Record<string, string>;
  readonly detail: string;

  constructor(status: number, explanation?: string, headers: Record<string, string> = {}, detail = '') {
    const text = explanation ?? STATUS[status]?.explanation ?? '';
    super(detail || text);
    this.name = 'HttpError';
    this.status = status;
    this.explanation = text;
    this.headers = headers;
    this.detail = detail;
  }

  get title(): string {
    return statusTitle(this.status);
  }
}
