/**
 * A failure only a person can fix (a bad spec, refused admin credentials, a missing Secret): the object is
 * reported Stalled with `reason` and retried slowly. Any other error is taken as transient and retried with
 * backoff.
 */
export class TerminalError extends Error {
  override readonly name = 'TerminalError';
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
