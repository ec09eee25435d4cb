// glance.common.timeutils.isotime: second precision with a "Z", and, like upstream, the current time when the
// value is missing (isotime(None) is "now": a task without expires_at is sent with the time of the event).
export function isotime(at: Date | null | undefined, now: () => Date = () => new Date()): string {
  const when = at ?? now();
  return when.toISOString().slice(0, 19) + 'Z';
}
