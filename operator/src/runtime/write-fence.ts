/**
 * Thrown in place of a write to the API server once this process may no longer write: it lost the leader lease
 * or could not renew it within the renew deadline, so another process may lead already. Not a failure of the
 * object: the reconcile simply ends, and the process exits.
 */
export class NotLeaderError extends Error {
  override readonly name: string = 'NotLeaderError';
}

/**
 * Asked before every write to the API server. It is judged when asked, from the clock, not from a timer having
 * run: a process frozen past its deadline (SIGSTOP, a stalled VM) finds out on its first write after waking.
 */
export interface WriteFence {
  /** Throws NotLeaderError unless this process may write now. */
  check(): void;
}

/** The fence of a process that does not elect a leader (LEADER_ELECT=false): every write is allowed. */
export const NO_FENCE: WriteFence = { check: () => undefined };
