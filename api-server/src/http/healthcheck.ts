import { existsSync } from 'node:fs';
import type { RequestHandler } from 'express';
import { acceptableOffers } from './accept.js';

const OFFERS = ['text/plain', 'text/html', 'application/json'] as const;

function htmlBody(reason: string): string {
  return (
    '<HTML>\n<HEAD><TITLE>Healthcheck Status</TITLE></HEAD>\n<BODY>\n\n<H2>Result of 1 checks:</H2>\n' +
    '<TABLE bgcolor="#ffffff" border="1">\n<TBODY>\n<TR>\n\n<TH>\nReason\n</TH>\n</TR>\n<TR>\n\n' +
    `    <TD>${reason}</TD>\n\n</TR>\n</TBODY>\n</TABLE>\n<HR></HR>\n\n</BODY>\n</HTML>`
  );
}

/**
 * oslo.middleware's healthcheck at /healthcheck with upstream's paste settings (the disable_by_file backend):
 * 200 "OK", or 503 "DISABLED BY FILE" while `disableFile` exists; HEAD answers 204/503 without a body.
 */
export function healthcheck(disableFile: string | null): RequestHandler {
  return (req, res) => {
    const healthy = disableFile === null || !existsSync(disableFile);
    const reason = healthy ? 'OK' : 'DISABLED BY FILE';
    if (req.method === 'HEAD') {
      res.status(healthy ? 204 : 503).end();
      return;
    }
    res.status(healthy ? 200 : 503);
    const type = acceptableOffers(req.headers.accept, OFFERS)[0] ?? 'text/plain';
    if (type === 'application/json') {
      res.type('application/json; charset=UTF-8');
      res.send(JSON.stringify({ detailed: false, reasons: [reason] }, null, 4));
    } else if (type === 'text/html') {
      res.type('text/html; charset=UTF-8').send(htmlBody(reason));
    } else {
      res.type('text/plain; charset=UTF-8').send(reason);
    }
  };
}
