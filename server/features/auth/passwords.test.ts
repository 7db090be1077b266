import { describe, expect, test } from 'bun:test';
import { concurrencyLimit, hashPassword, verifyPassword } from './passwords.ts';

describe('password hashing', () => {
  test('hashes with argon2id and verifies', async () => {
    const hash = await hashPassword('correct horse battery');
    expect(hash).toStartWith('$argon2id$');
    expect(await verifyPassword('correct horse battery', hash)).toBe(true);
    expect(await verifyPassword('wrong horse battery', hash)).toBe(false);
  });

  test('a concurrency limit runs at most that many at once, the rest in order, failures included', async () => {
    const limited = concurrencyLimit(2);
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const results = await Promise.allSettled(
      Array.from({ length: 7 }, (_, index) =>
        limited(async () => {
          started.push(index);
          running++;
          most = Math.max(most, running);
          await Bun.sleep(5);
          running--;
          if (index === 3) throw new Error('the fourth fails');
          return index;
        }),
      ),
    );
    expect(most).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(results.map((result) => result.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
      'fulfilled',
    ]);
  });
});
