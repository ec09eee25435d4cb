/** glance_store's exception kinds a route maps to an HTTP status (its messages are glance_store's texts). */
export type StoreErrorKind =
  | 'not-found'
  | 'duplicate'
  | 'storage-full'
  | 'write-denied'
  | 'bad-location'
  /** StoreAddDisabled: a read-only store (http) was asked to write. */
  | 'add-disabled'
  /** RemoteServiceUnavailable: the server holding the data cannot be reached. */
  | 'unavailable';

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
export const storeAddDisabled = (): StoreError =>
  new StoreError('add-disabled', 'Configuration for store failed. Adding images to this store is disabled.');
