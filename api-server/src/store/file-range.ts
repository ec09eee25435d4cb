/** Where the bytes of a store's read stream lie on disk: `fd` from `start` to `end`, inclusive. */
export interface FileRange {
  fd: number;
  start: number;
  end: number;
}

const FILE_RANGE = Symbol('glance.fileRange');

/**
 * Marks a stream that reads `range` of an open file, so that a sender able to move file bytes without reading
 * them (sendfile) can do so. The stream keeps owning the descriptor: destroying it closes the file.
 */
export function withFileRange<T extends object>(stream: T, range: FileRange): T {
  Object.defineProperty(stream, FILE_RANGE, { value: range });
  return stream;
}

/** The file range behind `stream`, when nothing has been read from it yet. */
export function fileRangeOf(stream: NodeJS.ReadableStream): FileRange | null {
  const range = (stream as { [FILE_RANGE]?: FileRange })[FILE_RANGE];
  if (range === undefined) return null;
  const readable = stream as NodeJS.ReadableStream & { readableDidRead?: boolean; destroyed?: boolean };
  return readable.readableDidRead === true || readable.destroyed === true ? null : range;
}
