/** The expiry choices of a new API key and the `expiresAt` each one sends. */

export const expiryChoices = [
  { value: 'never', label: 'Never' },
  { value: '30', label: 'In 30 days' },
  { value: '90', label: 'In 90 days' },
  { value: '365', label: 'In 1 year' },
  { value: 'custom', label: 'On a date…' },
] as const;

export type ExpiryChoice = (typeof expiryChoices)[number]['value'];

export type ExpiryResult = { expiresAt: string | undefined } | { error: string };

/**
 * The ISO timestamp for a choice, or why it cannot be used. A chosen date means the key works through the
 * end of that day in the person's own time zone.
 */
export function expiryFor(choice: ExpiryChoice, customDate: string, now: Date = new Date()): ExpiryResult {
  if (choice === 'never') return { expiresAt: undefined };
  if (choice !== 'custom') {
    return { expiresAt: new Date(now.getTime() + Number(choice) * 24 * 3600 * 1000).toISOString() };
  }
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(customDate);
  if (!match) return { error: 'Choose the day the key stops working.' };
  const [, year, month, day] = match;
  const endOfDay = new Date(Number(year), Number(month) - 1, Number(day), 23, 59, 59, 999);
  if (Number.isNaN(endOfDay.getTime())) return { error: 'Choose the day the key stops working.' };
  if (endOfDay.getTime() <= now.getTime()) return { error: 'Choose a day in the future.' };
  return { expiresAt: endOfDay.toISOString() };
}

/** `YYYY-MM-DD` of the day after `now`, in local time: the earliest date a date picker should offer. */
export function tomorrowAsDateInput(now: Date = new Date()): string {
  const tomorrow = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1);
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${tomorrow.getFullYear()}-${pad(tomorrow.getMonth() + 1)}-${pad(tomorrow.getDate())}`;
}
