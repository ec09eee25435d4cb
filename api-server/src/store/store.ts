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

export interface Store {
  readonly scheme: string;
  /** Consumes `data` completely; throws on error after removing any partial data. */
  add(imageId: string, data: NodeJS.ReadableStream): Promise<StoredObject>;
  get(location: string, range?: ByteRange): Promise<NodeJS.ReadableStream>;
  size(location: string): Promise<number>;
  /** Missing data is not an error. */
  delete(location: string): Promise<void>;
}
