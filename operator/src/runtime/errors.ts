/**
 * A failure only a person can fix (a bad spec, refused credentials, a missing Secret, a source that is not what
 * was declared): the object is reported Stalled with `reason` and retried slowly. Any other error is taken as
 * transient and retried with backoff. Errors that are terminal by nature extend this class, so that
 * `instanceof TerminalError` is the one question every reconciler asks.
 */
export class TerminalError extends Error {
  override readonly name: string = 'TerminalError';
  constructor(
    readonly reason: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
