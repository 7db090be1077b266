import { AppError } from '../errors.ts';

/**
 * The instant an RFC 3339 `date-time` field names. RFC 3339 allows a leap second (`23:59:60`) and the
 * format check accepts it, but a JavaScript Date cannot hold one (it becomes Invalid Date, which the
 * database driver then fails on with a 500): such a value is refused as a field error instead.
 */
export function instantOf(value: string, path: string): Date {
  const instant = new Date(value);
  if (Number.isNaN(instant.getTime())) {
    throw new AppError('validation-failed', 'The body has invalid fields.', {
      errors: [{ path, message: 'Must be a date-time without a leap second' }],
    });
  }
  return instant;
}
