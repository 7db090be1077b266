import type { CreditTransaction } from '../api';

/** How many days the usage chart covers, today included. */
export const USAGE_DAYS = 30;

/** Credits spent on one calendar day. */
export interface DayUsage {
  /** `YYYY-MM-DD`, in the time zone the days were counted in. */
  date: string;
  consumed: number;
}

/**
 * The credits an entry spent. Plain consumption spends its (negative) amount. Metered work holds credits
 * with a `reserve` and later spends part of them with a `capture`, whose amount is 0 (the credits left the
 * balance when reserved) and whose `metadata.captured` says how many were spent: counting the capture, not
 * the reservation, puts the spending on the day it happened and leaves out what was released unspent.
 */
export function creditsSpent(transaction: CreditTransaction): number {
  if (transaction.type === 'consume') return Math.max(0, -transaction.amount);
  if (transaction.type === 'capture') {
    const captured = transaction.metadata?.captured;
    return typeof captured === 'number' && captured > 0 ? captured : 0;
  }
  return 0;
}

/** Formats an instant as its calendar date in `timeZone` (the browser's own when undefined). */
function dateKeyFormat(timeZone: string | undefined): (instant: Date) => string {
  // en-CA writes dates as YYYY-MM-DD.
  const format = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  });
  return (instant) => format.format(instant);
}

/** The calendar date `days` before `date` (`YYYY-MM-DD` both); plain date arithmetic, no time zone. */
export function daysBefore(date: string, days: number): string {
  const noon = new Date(`${date}T12:00:00Z`);
  noon.setUTCDate(noon.getUTCDate() - days);
  return noon.toISOString().slice(0, 10);
}

/** The calendar dates of the last `days` days up to `now`'s, oldest first. */
export function lastDays(now: Date, options: { days?: number; timeZone?: string } = {}): string[] {
  const days = options.days ?? USAGE_DAYS;
  const today = dateKeyFormat(options.timeZone)(now);
  return Array.from({ length: days }, (_, index) => daysBefore(today, days - 1 - index));
}

/**
 * How far back to load entries for the chart: a day more than it shows, so that its first calendar day is
 * whole whatever the time zone (or a daylight-saving change). Loading stops at entries older than this.
 */
export function usageWindowStart(now: Date, days = USAGE_DAYS): Date {
  return new Date(now.getTime() - (days + 1) * 24 * 3600 * 1000);
}

/**
 * Credits spent per calendar day over the last `days` days up to `now` (in `timeZone`, the browser's own
 * by default), oldest first, with a zero for each day without spending.
 */
export function dailyUsage(
  transactions: readonly CreditTransaction[],
  now: Date,
  options: { days?: number; timeZone?: string } = {},
): DayUsage[] {
  const dates = lastDays(now, options);
  const totals = new Map(dates.map((date) => [date, 0]));
  const dateOf = dateKeyFormat(options.timeZone);
  for (const transaction of transactions) {
    const spent = creditsSpent(transaction);
    if (spent === 0) continue;
    const date = dateOf(new Date(transaction.createdAt));
    const total = totals.get(date);
    if (total !== undefined) totals.set(date, total + spent);
  }
  return dates.map((date) => ({ date, consumed: totals.get(date) ?? 0 }));
}

export interface UsageSummary {
  total: number;
  today: number;
  busiest: DayUsage | null;
}

/** What a screen reader hears about the chart, and the figures beside it. */
export function summariseUsage(days: readonly DayUsage[]): UsageSummary {
  let total = 0;
  let busiest: DayUsage | null = null;
  for (const day of days) {
    total += day.consumed;
    if (day.consumed > 0 && (busiest === null || day.consumed > busiest.consumed)) busiest = day;
  }
  return { total, today: days.at(-1)?.consumed ?? 0, busiest };
}

/**
 * The top of the chart's scale: a round number at or above the busiest day, so the gridlines fall on
 * readable values.
 */
export function chartScaleMax(days: readonly DayUsage[]): number {
  const peak = Math.max(0, ...days.map((day) => day.consumed));
  if (peak === 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(peak));
  for (const step of [1, 2, 5, 10]) {
    if (peak <= step * magnitude) return step * magnitude;
  }
  return 10 * magnitude;
}
