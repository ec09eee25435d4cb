import type { Request, Response } from 'express';
import { DuplicateError } from '../db/metadef-repo.js';
import { fourByteMessage, type MetadefSchemas } from '../domain/metadef-bodies.js';
import type { ListLimits } from '../domain/metadef-query.js';
import { toJson, type WsObject, type WsType } from '../domain/metadef-wsme.js';
import type { JsonValue } from '../domain/pyrepr.js';
import { Conflict, Invalid } from '../domain/errors.js';
import { requireJson } from '../http/json-body.js';
import { sendJson, sendNoContent } from '../http/respond.js';
import type { MetadefAccess } from '../services/metadef-access.js';

/** What every metadef router needs. */
export interface MetadefRouteDeps {
  access: MetadefAccess;
  schemas: MetadefSchemas;
  limits: ListLimits;
  jsonLimit: number;
}

/** The query string as sent, repeated keys and all (webob's MultiDict keeps them). */
export function rawQuery(req: Request): URLSearchParams {
  const at = req.originalUrl.indexOf('?');
  return new URLSearchParams(at < 0 ? '' : req.originalUrl.slice(at + 1));
}

export async function jsonBody(req: Request, limit: number): Promise<JsonValue> {
  return (await requireJson(req, limit)) as JsonValue;
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

/** Absolute URL for a Location header, as webob completes a relative one (non-ASCII percent-encoded). */
export function absoluteUrl(req: Request, path: string): string {
  const encoded = path.replace(/[^\x21-\x7e]/gu, (ch) => encodeURIComponent(ch));
  return `${req.protocol}://${req.get('host') ?? 'localhost'}${encoded}`;
}

/** Refuses what upstream's no_4byte_params refuses, worded as the controller words its Invalid errors. */
export function checkFourByte(what: string, args: readonly (string | Record<string, unknown>)[]): void {
  const message = fourByteMessage(args);
  if (message !== null) throw new Invalid(`${what}: ${message}`);
}

/** Runs a write; a unique-key clash becomes the 409 `message(name)`. */
export async function unlessDuplicate<T>(
  write: () => Promise<T>,
  message: (name: string) => string,
): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (err instanceof DuplicateError) throw new Conflict(message(err.taken));
    throw err;
  }
}

/** Python truthiness of a WSME attribute: Unset, None and empty containers are false. */
export function truthy(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === '' || value === 0) return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

// Python ==: dicts compare without regard to key order.
function pyEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((v, i) => pyEqual(v, b[i]));
  if (typeof a === 'object' && typeof b === 'object' && a !== null && b !== null && !Array.isArray(a)) {
    const ka = Object.keys(a);
    const rb = b as Record<string, unknown>;
    return (
      ka.length === Object.keys(b).length &&
      ka.every((k) => Object.hasOwn(rb, k) && pyEqual((a as Record<string, unknown>)[k], rb[k]))
    );
  }
  return false;
}

/**
 * Whether saving `next` over `current` changes a column: SQLAlchemy issues no UPDATE (so updated_at stays)
 * when nothing changed. JSON columns compare as the values they decode to.
 */
export function changed(current: Record<string, unknown>, next: Record<string, unknown>): boolean {
  return Object.entries(next).some(([key, value]) => !pyEqual(current[key], value));
}
