import { ApiException } from '@kubernetes/client-node';

/** The HTTP status of a failed Kubernetes API call, if the failure came from the API server. */
export function kubeStatusCode(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  return undefined;
}

export const isNotFound = (err: unknown): boolean => kubeStatusCode(err) === 404;
/** 409: AlreadyExists on create, Conflict on a stale resourceVersion. */
export const isConflict = (err: unknown): boolean => kubeStatusCode(err) === 409;

/**
 * A one-line description of a failed call for logs and conditions: the Status message only, because the
 * client's own message repeats the whole response including its headers.
 */
export function describeKubeError(err: unknown): string {
  if (err instanceof ApiException) {
    const body: unknown = err.body;
    let message: string | undefined;
    if (typeof body === 'string') {
      try {
        message = (JSON.parse(body) as { message?: string }).message;
      } catch {
        message = body.slice(0, 200);
      }
    } else if (typeof body === 'object' && body !== null) {
      message = (body as { message?: string }).message;
    }
    return `Kubernetes API HTTP ${err.code}${message ? `: ${message}` : ''}`;
  }
  return err instanceof Error ? err.message : String(err);
}
