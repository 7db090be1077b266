import { describe, expect, test } from 'bun:test';
import type { CreditTransaction } from '../api';
import {
  chartScaleMax,
  creditsSpent,
  dailyUsage,
  daysBefore,
  lastDays,
  summariseUsage,
  usageWindowStart,
} from './usage';

function entry(
  type: string,
  amount: number,
  createdAt: string,
  metadata: Record<string, unknown> = {},
): CreditTransaction {
  return { id: `${type}-${createdAt}`, type, amount, balanceAfter: 0, reason: type, metadata, createdAt };
}

const now = new Date('2025-06-15T12:00:00.000Z');

describe('creditsSpent', () => {
  test('counts consumption and captured reservations, not holds, releases or additions', () => {
    expect(creditsSpent(entry('consume', -40, '2025-06-15T00:00:00Z'))).toBe(40);
    expect(creditsSpent(entry('capture', 0, '2025-06-15T00:00:00Z', { captured: 25 }))).toBe(25);
    expect(creditsSpent(entry('reserve', -100, '2025-06-15T00:00:00Z'))).toBe(0);
    expect(creditsSpent(entry('release', 75, '2025-06-15T00:00:00Z'))).toBe(0);
    expect(creditsSpent(entry('grant', 500, '2025-06-15T00:00:00Z'))).toBe(0);
    expect(creditsSpent(entry('expire', -10, '2025-06-15T00:00:00Z'))).toBe(0);
  });
});

describe('calendar days', () => {
  test('daysBefore crosses months and leap days', () => {
    expect(daysBefore('2025-03-01', 1)).toBe('2025-02-28');
    expect(daysBefore('2024-03-01', 1)).toBe('2024-02-29');
    expect(daysBefore('2025-01-05', 10)).toBe('2024-12-26');
  });

  test('lastDays ends today, oldest first', () => {
    const days = lastDays(now, { timeZone: 'UTC' });
    expect(days).toHaveLength(30);
    expect(days[0]).toBe('2025-05-17');
    expect(days.at(-1)).toBe('2025-06-15');
  });

  test('today is the date where the person is', () => {
    const lateEvening = new Date('2025-06-15T23:30:00.000Z');
    expect(lastDays(lateEvening, { days: 1, timeZone: 'UTC' })).toEqual(['2025-06-15']);
    expect(lastDays(lateEvening, { days: 1, timeZone: 'Asia/Tokyo' })).toEqual(['2025-06-16']);
  });

  test('the loading window reaches back past the first day shown', () => {
    const start = usageWindowStart(now);
    expect(start.toISOString()).toBe('2025-05-15T12:00:00.000Z');
  });
});

describe('dailyUsage', () => {
  test('sums spending per day, with zeros for quiet days, and leaves out older entries', () => {
    const days = dailyUsage(
      [
        entry('consume', -30, '2025-06-15T11:00:00.000Z'),
        entry('consume', -20, '2025-06-15T01:00:00.000Z'),
        entry('capture', 0, '2025-06-14T08:00:00.000Z', { captured: 5 }),
        entry('grant', 1000, '2025-06-14T07:00:00.000Z'),
        entry('consume', -7, '2025-05-17T00:00:00.000Z'),
        entry('consume', -99, '2025-05-16T23:59:59.000Z'),
      ],
      now,
      { timeZone: 'UTC' },
    );
    expect(days).toHaveLength(30);
    expect(days.at(-1)).toEqual({ date: '2025-06-15', consumed: 50 });
    expect(days.at(-2)).toEqual({ date: '2025-06-14', consumed: 5 });
    expect(days[0]).toEqual({ date: '2025-05-17', consumed: 7 });
    expect(days.slice(1, -2).every((day) => day.consumed === 0)).toBe(true);
  });

  test('counts each entry on its day in the person’s time zone', () => {
    const days = dailyUsage([entry('consume', -10, '2025-06-14T20:00:00.000Z')], now, {
      days: 2,
      timeZone: 'Asia/Tokyo',
    });
    expect(days).toEqual([
      { date: '2025-06-14', consumed: 0 },
      { date: '2025-06-15', consumed: 10 },
    ]);
  });
});

describe('summariseUsage', () => {
  test('the total, today and the busiest day', () => {
    const summary = summariseUsage([
      { date: '2025-06-13', consumed: 10 },
      { date: '2025-06-14', consumed: 40 },
      { date: '2025-06-15', consumed: 5 },
    ]);
    expect(summary).toEqual({ total: 55, today: 5, busiest: { date: '2025-06-14', consumed: 40 } });
  });

  test('no busiest day when nothing was spent', () => {
    expect(summariseUsage([{ date: '2025-06-15', consumed: 0 }])).toEqual({
      total: 0,
      today: 0,
      busiest: null,
    });
  });
});

describe('chartScaleMax', () => {
  test('rounds the busiest day up to 1, 2 or 5 times a power of ten', () => {
    const scale = (peak: number) => chartScaleMax([{ date: '2025-06-15', consumed: peak }]);
    expect(scale(0)).toBe(1);
    expect(scale(1)).toBe(1);
    expect(scale(3)).toBe(5);
    expect(scale(120)).toBe(200);
    expect(scale(500)).toBe(500);
    expect(scale(501)).toBe(1000);
  });
});
