// The ISO 8601 dialect of the `iso8601` Python library, which upstream's timeutils.parse_isotime() uses for
// created_at/updated_at filters: it also decides whether "gt:2020-01-01T10:00:00" is an operator or a time.

const ISO8601 = new RegExp(
  '^(?<year>[0-9]{4})(' +
    '((-(?<monthdash>[0-9]{1,2}))|(?<month>[0-9]{2})(?!$))' +
    '(' +
    '((-(?<daydash>[0-9]{1,2}))|(?<day>[0-9]{2}))' +
    '(' +
    '((?<separator>[ T])(?<hour>[0-9]{2})(:{0,1}(?<minute>[0-9]{2})){0,1}' +
    '(:{0,1}(?<second>[0-9]{1,2})([.,](?<fraction>[0-9]+)){0,1}){0,1}' +
    '(?<timezone>Z|((?<tzSign>[-+])(?<tzHour>[0-9]{2}):{0,1}(?<tzMinute>[0-9]{2}){0,1})){0,1}' +
    '){0,1}' +
    ')' +
    '){0,1}' +
    '){0,1}$',
);

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
}

/** The instant `text` denotes (UTC when it names no zone), or null where parse_isotime raises ValueError. */
export function parseIsoTime(text: string): Date | null {
  const g = ISO8601.exec(text)?.groups;
  if (!g) return null;
  const num = (v: string | undefined, dflt: number) => (v === undefined ? dflt : Number(v));
  const year = Number(g.year);
  const month = num(g.month ?? g.monthdash, 1);
  const day = num(g.day ?? g.daydash, 1);
  const hour = num(g.hour, 0);
  const minute = num(g.minute, 0);
  const second = num(g.second, 0);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  // Microseconds, truncated; a Date keeps milliseconds.
  const millis = g.fraction === undefined ? 0 : Math.trunc(Number(`0.${g.fraction}`) * 1000);
  let offsetMinutes = 0;
  if (g.timezone !== undefined && g.timezone !== 'Z') {
    offsetMinutes = num(g.tzHour, 0) * 60 + num(g.tzMinute, 0);
    if (offsetMinutes >= 24 * 60) return null;
    if (g.tzSign === '-') offsetMinutes = -offsetMinutes;
  }
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, millis);
  return new Date(date.getTime() - offsetMinutes * 60_000);
}
