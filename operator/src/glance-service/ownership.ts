import type { GlanceService } from '../api/glance-service-types.js';
import { TerminalError } from '../runtime/errors.js';

/**
 * Which GlanceService created an object in MariaDB, Keystone or Ceph. Each system keeps the mark in a place of its
 * own (a Keystone attribute, the database's comment, Ceph's config-key store), written before or with the object,
 * so that a reconcile killed at any line never leaves an object of ours unmarked. Only marked objects are deleted.
 */
export interface OwnerMark {
  uid: string;
  /** namespace/name of the GlanceService, to say whose it is and to let a re-created one take it back. */
  owner: string;
}

const PREFIX = 'glance-operator';

export function markOf(gs: GlanceService): OwnerMark {
  return { uid: gs.metadata.uid ?? '', owner: `${gs.metadata.namespace}/${gs.metadata.name}` };
}

/**
 * The mark as one string, where a system keeps only text: `glance-operator <uid> <namespace>/<name>`, then any
 * `key=value` attributes (values without spaces), for what else the owner must remember in the same place.
 */
export function formatMark(mark: OwnerMark, attributes: Record<string, string> = {}): string {
  const extra = Object.entries(attributes).map(([k, v]) => ` ${k}=${v}`);
  return `${PREFIX} ${mark.uid} ${mark.owner}${extra.join('')}`;
}

/** A mark and the attributes written after it; undefined when the text is not a mark. */
export function parseMarkWithAttributes(
  text: string | undefined,
): { mark: OwnerMark; attributes: Record<string, string> } | undefined {
  const m = /^glance-operator ([A-Za-z0-9-]{1,64}) ([a-z0-9.-]+\/[a-z0-9.-]+)((?: [a-z]+=\S*)*)$/.exec(
    text?.trim() ?? '',
  );
  if (!m) return undefined;
  const attributes = Object.fromEntries(
    (m[3] ?? '')
      .split(' ')
      .filter(Boolean)
      .map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]),
  );
  return { mark: { uid: m[1]!, owner: m[2]! }, attributes };
}

export function parseMark(text: string | undefined): OwnerMark | undefined {
  return parseMarkWithAttributes(text)?.mark;
}

/** Whether `text` is this GlanceService's mark: the one question deletion asks before removing anything. */
export function isMarkedBy(gs: GlanceService, text: string | undefined): boolean {
  return parseMark(text)?.uid === markOf(gs).uid;
}

/** How an existing object stands to this GlanceService. */
export type Claim =
  /** Marked as this GlanceService's: used, and deleted as deletionPolicy says. */
  | 'ours'
  /** Left by an earlier GlanceService of the same namespace and name, and adopt is set: mark it as ours. */
  | 'take-back'
  /** Not ours, and adopt is set: used as it is, never marked, never deleted. */
  | 'adopted';

/**
 * Decides whether an existing object may be used. `what` names it for the message (`database glance`), `adoptField`
 * is the spec field that allows adoption (`spec.database.adopt`).
 */
export function claim(
  gs: GlanceService,
  found: OwnerMark | undefined,
  adopt: boolean,
  what: string,
  adoptField: string,
): Claim {
  const me = markOf(gs);
  if (found?.uid === me.uid) return 'ours';
  if (adopt) return found?.owner === me.owner ? 'take-back' : 'adopted';
  const by = found
    ? `was created by GlanceService ${found.owner} (uid ${found.uid})` +
      (found.owner === me.owner ? ', an earlier one of this name' : '')
    : 'was not created by this operator';
  throw new TerminalError(
    'NotOwned',
    `${what} already exists and ${by}: set ${adoptField} to use it (an adopted object is never deleted)`,
  );
}
