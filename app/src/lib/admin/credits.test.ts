import { describe, expect, test } from 'bun:test';
import { readCreditAdjustment } from './credits';

describe('readCreditAdjustment', () => {
  test('whole credits of either sign, with grouping and a true minus sign', () => {
    expect(readCreditAdjustment('500', ' goodwill ')).toEqual({ ok: true, amount: 500, reason: 'goodwill' });
    expect(readCreditAdjustment('-200', 'correction')).toMatchObject({ ok: true, amount: -200 });
    expect(readCreditAdjustment('\u22121,000', 'correction')).toMatchObject({ ok: true, amount: -1000 });
    expect(readCreditAdjustment('+10 000', 'x')).toMatchObject({ ok: true, amount: 10000 });
  });

  test('refuses what the server would, naming the field', () => {
    expect(readCreditAdjustment('', 'x')).toMatchObject({
      ok: false,
      errors: { amount: expect.any(String) },
    });
    expect(readCreditAdjustment('0', 'x')).toMatchObject({
      ok: false,
      errors: { amount: expect.stringContaining('0') },
    });
    expect(readCreditAdjustment('1.5', 'x')).toMatchObject({
      ok: false,
      errors: { amount: expect.any(String) },
    });
    expect(readCreditAdjustment('1e3', 'x')).toMatchObject({ ok: false });
    expect(readCreditAdjustment('10000000000001', 'x')).toMatchObject({ ok: false });
    const both = readCreditAdjustment('abc', '   ');
    expect(both).toMatchObject({
      ok: false,
      errors: { amount: expect.any(String), reason: expect.any(String) },
    });
    expect(readCreditAdjustment('5', 'x'.repeat(201))).toMatchObject({
      ok: false,
      errors: { reason: expect.any(String) },
    });
  });
});
