/**
 * glance_store's InUseByStore and HasSnapshot: deleting data that something outside Glance still uses (a clone of
 * the image's snapshot, a watcher, a left-over snapshot). Upstream's delete routes answer both with 409.
 * They are their own class because StoreErrorKind (errors.ts) has no kinds for them.
 */
export type StoreConflictKind = 'in-use' | 'has-snapshot';

export class StoreConflictError extends Error {
  readonly kind: StoreConflictKind;

  constructor(kind: StoreConflictKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreConflictError';
    this.kind = kind;
  }
}

export const storeInUse = (cause?: unknown): StoreConflictError =>
  new StoreConflictError(
    'in-use',
    'The image cannot be deleted because it is in use through the backend store outside of Glance.',
    { cause },
  );

export const storeHasSnapshot = (cause?: unknown): StoreConflictError =>
  new StoreConflictError('has-snapshot', 'The image cannot be deleted because it has snapshot(s).', {
    cause,
  });
