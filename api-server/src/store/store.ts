export interface StoredObject {
  /** e.g. 'file:///var/lib/glance/images/<id>' */
  location: string;
  size: number;
}

/** Inclusive byte range, as in an HTTP Range header. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * One glance_store driver instance (a `[glance_store]` store, or one backend of enabled_backends). Failures a
 * client can act on are StoreError (errors.ts) or StoreConflictError (rbd-errors.ts); routes map them to statuses.
 */
export interface Store {
  /** The scheme of the locations it writes ('file', 'rbd', 'http'). */
  readonly scheme: string;
  /**
   * Consumes `data` completely; throws on error after removing any partial data. `size` is the declared length
   * when the client sent one (upstream's image_size from Content-Length): a store may size its object up front.
   */
  add(imageId: string, data: NodeJS.ReadableStream, size?: number): Promise<StoredObject>;
  get(location: string, range?: ByteRange): Promise<NodeJS.ReadableStream>;
  size(location: string): Promise<number>;
  /** Missing data is not an error. */
  delete(location: string): Promise<void>;
  /** Releases connections; called once at shutdown, after the last transfer. */
  close?(): Promise<void>;
}
