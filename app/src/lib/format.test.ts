import { describe, expect, test } from 'bun:test';
import { formatCalendarDate, formatRelativeTime, formatSignedNumber } from './format';

const now = new Date('2025-06-15T12:00:00.000Z');
const relative = (iso: string) => formatRelativeTime(iso, now, 'en');

describe('formatRelativeTime', () => {
  test('says "just now" for the last few seconds either way', () => {
    expect(relative('2025-06-15T11:59:30.000Z')).toBe('just now');
    expect(relative('2025-06-15T12:00:20.000Z')).toBe('just now');
  });

  test('picks the largest unit that fits, in the past and the future', () => {
    expect(relative('2025-06-15T11:55:00.000Z')).toBe('5 minutes ago');
    expect(relative('2025-06-15T09:00:00.000Z')).toBe('3 hours ago');
    expect(relative('2025-06-14T12:00:00.000Z')).toBe('yesterday');
    expect(relative('2025-06-18T12:00:00.000Z')).toBe('in 3 days');
    expect(relative('2025-07-15T12:00:00.000Z')).toBe('next month');
    expect(relative('2026-06-15T12:00:00.000Z')).toBe('next year');
  });
});

describe('formatSignedNumber', () => {
  test('shows the sign of credits added and taken', () => {
    expect(formatSignedNumber(1000)).toMatch(/^\+1.000$/);
    expect(formatSignedNumber(-25)).toBe('\u221225');
    expect(formatSignedNumber(0)).toBe('0');
  });
});

describe('formatCalendarDate', () => {
  test('keeps the calendar date whatever the time zone', () => {
    const format = new Intl.DateTimeFormat('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' });
    expect(formatCalendarDate('2025-06-01', format)).toBe('Jun 1');
    expect(formatCalendarDate('2025-12-31', format)).toBe('Dec 31');
  });
});
