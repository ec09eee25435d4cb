import type { Response } from 'express';
import { toJson, type WsObject, type WsType } from '../domain/metadef-wsme.js';
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

/** A WSME model serialised as upstream's metadef ResponseSerializers write it. */
export function sendModel(res: Response, status: number, type: WsType, model: WsObject): void {
  sendJson(res, status, toJson(type, model));
}

/** 204 as upstream's metadef deletes send it: webob's default content type stays on the empty response. */
export function sendDeleted(res: Response): void {
  res.setHeader('Content-Type', 'text/html; charset=UTF-8');
  sendNoContent(res);
}

/** A 201 with a Location, headers in upstream's order (Content-Type first). */
export function sendCreated(res: Response, location: string, type: WsType, model: WsObject): void {
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Location', location);
  sendModel(res, 201, type, model);
}
