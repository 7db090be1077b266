/** Dates as people read them in tables: in their locale and time zone. */

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function formatDate(iso: string): string {
  return dateFormat.format(new Date(iso));
}

export function formatDateTime(iso: string): string {
  return dateTimeFormat.format(new Date(iso));
}

const units: ReadonlyArray<[Intl.RelativeTimeFormatUnit, number]> = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['week', 7 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
];

/** "3 minutes ago", "in 2 days", "just now" — for last-used and expiry columns. */
export function formatRelativeTime(iso: string, now: Date = new Date(), locale?: string): string {
  const seconds = Math.round((new Date(iso).getTime() - now.getTime()) / 1000);
  if (Math.abs(seconds) < 45) return 'just now';
  const format = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
  for (const [unit, unitSeconds] of units) {
    if (Math.abs(seconds) >= unitSeconds) return format.format(Math.round(seconds / unitSeconds), unit);
  }
  return format.format(Math.round(seconds / 60), 'minute');
}

const numberFormat = new Intl.NumberFormat();

/** Whole numbers (credits, counts) with the locale's digit grouping: `10,000`. */
export function formatNumber(value: number): string {
  return numberFormat.format(value);
}

/** A signed amount of credits: `+1,000`, `−250` (a true minus sign), `0`. */
export function formatSignedNumber(value: number): string {
  if (value > 0) return `+${numberFormat.format(value)}`;
  if (value < 0) return `\u2212${numberFormat.format(-value)}`;
  return '0';
}

const calendarDateFormat = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  timeZone: 'UTC',
});

/**
 * A calendar date (`YYYY-MM-DD`, already in the person's time zone) as `Jun 15`. Read at noon UTC and
 * written in UTC, so no time zone moves it to the day before or after.
 */
export function formatCalendarDate(date: string, format: Intl.DateTimeFormat = calendarDateFormat): string {
  return format.format(new Date(`${date}T12:00:00Z`));
}
