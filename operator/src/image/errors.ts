import { TerminalError } from '../glance/errors.js';
import { ChecksumMismatchError } from './checksum.js';
import { GlanceError } from './glance-images.js';
import { SourceError } from './http-source.js';
import { KeystoneAuthError } from './keystone-session.js';
import { FormatMismatchError } from './transfer.js';

/** A failure retrying will not cure, with the reason a person reads in the Stalled condition. */
export function terminalReason(err: unknown): string | undefined {
  if (err instanceof TerminalError) return err.reason;
  if (err instanceof KeystoneAuthError) return err.reason;
  if (err instanceof ChecksumMismatchError) return 'ChecksumMismatch';
  if (err instanceof FormatMismatchError) return 'FormatMismatch';
  if (err instanceof SourceError && err.terminal) return err.reason;
  // Glance refusing the request itself (bad property, quota, size cap); 401 is an expired token, 409 a race.
  if (err instanceof GlanceError && [400, 403, 413].includes(err.status)) return 'GlanceRefused';
  return undefined;
}

export function errorText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.length > 1000 ? `${text.slice(0, 997)}...` : text;
}
