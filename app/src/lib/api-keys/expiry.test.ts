import { describe, expect, test } from 'bun:test';
import { expiryFor, tomorrowAsDateInput } from './expiry';

const now = new Date(2025, 5, 15, 10, 30);

describe('expiryFor', () => {
  test('"never" sends no expiry', () => {
    expect(expiryFor('never', '', now)).toEqual({ expiresAt: undefined });
  });

  test('a preset counts days from now', () => {
    expect(expiryFor('30', '', now)).toEqual({
      expiresAt: new Date(now.getTime() + 30 * 24 * 3600 * 1000).toISOString(),
    });
  });

  test('a chosen date lasts until the end of that local day', () => {
    expect(expiryFor('custom', '2025-07-01', now)).toEqual({
      expiresAt: new Date(2025, 6, 1, 23, 59, 59, 999).toISOString(),
    });
  });

  test('today still counts as the future until midnight; yesterday does not', () => {
    expect('expiresAt' in expiryFor('custom', '2025-06-15', now)).toBe(true);
    expect(expiryFor('custom', '2025-06-14', now)).toEqual({ error: 'Choose a day in the future.' });
  });

  test('a missing date is a problem to show, not a request to send', () => {
    expect(expiryFor('custom', '', now)).toEqual({ error: 'Choose the day the key stops working.' });
  });
});

describe('tomorrowAsDateInput', () => {
  test('rolls over months and pads', () => {
    expect(tomorrowAsDateInput(new Date(2025, 0, 31, 23, 0))).toBe('2025-02-01');
    expect(tomorrowAsDateInput(now)).toBe('2025-06-16');
  });
});
