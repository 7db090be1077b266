/**
 * When a failed delivery is tried again: Svix's schedule by default (5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
 * 10 h after the first attempt's failure: about 27 hours in all), each wait ±20 % so that receivers
 * coming back are not hit by every sender at the same second. A 429 or 503 with `Retry-After` sets the
 * wait instead, within bounds.
 */

export const parseSchedule = (text: string): number[] => text.split(',').map((part) => Number(part) * 1000);

const JITTER = 0.2;
/** A `Retry-After` is honoured between these (a receiver cannot stall us for longer, nor ask for a storm). */
const RETRY_AFTER_MIN_MS = 1000;
const RETRY_AFTER_MAX_MS = 6 * 3600_000;

/**
 * The wait before the attempt after `attemptsMade` failed ones, in ms, or null when the schedule is over
 * (the message is given up).
 */
export function retryDelayMs(
  attemptsMade: number,
  scheduleMs: readonly number[],
  retryAfterSeconds: number | null,
  random: () => number = Math.random,
): number | null {
  const planned = scheduleMs[attemptsMade - 1];
  if (planned === undefined) return null;
  if (retryAfterSeconds !== null) {
    return Math.min(RETRY_AFTER_MAX_MS, Math.max(RETRY_AFTER_MIN_MS, retryAfterSeconds * 1000));
  }
  return Math.round(planned * (1 - JITTER + 2 * JITTER * random()));
}
