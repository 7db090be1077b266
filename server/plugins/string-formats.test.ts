import { describe, expect, test } from 'bun:test';
import { FormatRegistry } from '@sinclair/typebox';
import './openapi-docs.ts';
import { isDateTime } from './string-formats.ts';

describe('string formats used by request and response schemas', () => {
  test('date-time accepts RFC 3339 timestamps with real calendar dates only', () => {
    const valid = [
      '2024-02-29T10:00:00Z',
      '2026-11-25T00:06:14.811Z',
      '2026-06-30t08:00:00+05:30',
      '2026-06-30 08:00:00-0800',
    ];
    const invalid = [
      '2023-02-29T10:00:00Z',
      '2026-04-31T00:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-00-10T00:00:00Z',
      '2026-01-01T24:00:00Z',
      '2026-01-01T10:60:00Z',
      '2026-01-01T23:59:60Z',
      '2026-01-01T10:00:00+24:00',
      '2026-01-01',
      '2026-01-01T10:00:00',
      'yesterday',
      '',
    ];
    for (const value of valid) expect({ value, ok: isDateTime(value) }).toEqual({ value, ok: true });
    for (const value of invalid) expect({ value, ok: isDateTime(value) }).toEqual({ value, ok: false });
    expect(FormatRegistry.Get('date-time')).toBe(isDateTime);
  });

  test('uuid and email checks stay strict after the OpenAPI plugin is loaded', () => {
    const uuid = FormatRegistry.Get('uuid');
    const email = FormatRegistry.Get('email');
    expect(uuid?.('01a21006-4027-7032-81aa-a00e358898fb')).toBe(true);
    expect(uuid?.("01a21006-4027-7032-81aa-a00e358898fb' or 1=1")).toBe(false);
    expect(uuid?.('not-a-uuid')).toBe(false);
    expect(email?.('ada@example.com')).toBe(true);
    expect(email?.('ada@')).toBe(false);
    expect(email?.('not an email')).toBe(false);
  });
});
