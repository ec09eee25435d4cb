import type { TaskRecord } from '../db/task-repo.js';

// The os_glance_* properties upstream keeps on an image while it is imported.
export const IMPORT_LOCK = 'os_glance_import_task';
export const IMPORTING_STORES = 'os_glance_importing_to_stores';
export const FAILED_STORES = 'os_glance_failed_import';
export const STAGE_HOST = 'os_glance_stage_host';

/**
 * _ImportActions.merge_store_list: the comma-separated store list `current` with `stores` added (or taken
 * away), sorted, empty names dropped. A single store deployment imports to the store "None", which never
 * appears, so its lists stay empty strings.
 */
export function mergeStoreList(
  current: string | null | undefined,
  stores: ReadonlyArray<string | null>,
  subtract = false,
): string {
  const existing = new Set((current ?? '').split(','));
  const named = stores.filter((s): s is string => Boolean(s));
  const merged = subtract
    ? [...existing].filter((s) => !named.includes(s))
    : [...new Set([...existing, ...named])];
  return merged
    .filter((s) => s !== '')
    .sort()
    .join(',');
}

// _enforce_import_lock: a lock older than this (twice this for a task still pending) may be taken over.
const LOCK_EXPIRY_MS = 60 * 60 * 1000;

/**
 * Whether another task's import lock may be broken now: its task is gone, or has not been updated for the
 * expiry time. A live import refreshes its task at least every minute, so only a dead one goes stale.
 */
export function lockIsStale(holder: TaskRecord | null, now: Date): boolean {
  if (holder === null) return true;
  const expiry = holder.status === 'pending' ? 2 * LOCK_EXPIRY_MS : LOCK_EXPIRY_MS;
  const since = (holder.updated_at ?? holder.created_at).getTime();
  return now.getTime() - since >= expiry;
}
