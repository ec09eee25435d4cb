/** glance_store's exception kinds a route maps to an HTTP status (its messages are glance_store's texts). */
export type StoreErrorKind = 'not-found' | 'duplicate' | 'storage-full' | 'write-denied' | 'bad-location';

export class StoreError extends Error {
  readonly kind: StoreErrorKind;

  constructor(kind: StoreErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
    this.kind = kind;
  }
}

export const storeNotFound = (path: string): StoreError =>
  new StoreError('not-found', `Image ${path} not found`);
export const storeDuplicate = (path: string): StoreError =>
  new StoreError('duplicate', `Image ${path} already exists`);
export const storageFull = (cause: unknown): StoreError =>
  new StoreError('storage-full', 'There is not enough disk space on the image storage media.', { cause });
export const storageWriteDenied = (cause: unknown): StoreError =>
  new StoreError('write-denied', 'Permission to write image storage media denied.', { cause });
