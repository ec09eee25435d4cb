// disabled_notifications as glance/notifier.py _is_notification_enabled reads it: an entry disables one event
// type ("image.create") or a whole group, the event type's text before its first dot ("image", "metadef_tag").
// "image.member" is documented as a group but is no group under that rule (its group is "image"), so, as
// upstream, it disables nothing by itself; "image" disables the member events too.

export type EventFilter = (eventType: string) => boolean;

export function enabledFilter(disabled: readonly string[]): EventFilter {
  const off = new Set(disabled);
  if (off.size === 0) return () => true;
  return (eventType) => {
    const dot = eventType.indexOf('.');
    const group = dot < 0 ? eventType : eventType.slice(0, dot);
    return !off.has(eventType) && !off.has(group);
  };
}
