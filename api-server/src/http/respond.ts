import type { Response } from 'express';
import { pythonJson } from '../domain/python-json.js';

/** A JSON response as upstream's serializers write it: `application/json` without a charset. */
export function sendJson(res: Response, status: number, body: unknown, ensureAscii = false): void {
  const payload = Buffer.from(pythonJson(body, ensureAscii), 'utf8');
  res.status(status);
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Content-Length', String(payload.length));
  res.end(payload);
}

export function sendNoContent(res: Response): void {
  res.status(204).end();
}

/** 202 with an empty body, as upstream's serializers answer an accepted request. */
export function sendAccepted(res: Response): void {
  res.status(202);
  res.setHeader('Content-Length', '0');
  res.end();
}
