import { availableParallelism } from 'node:os';

/**
 * argon2id is slow and memory-hard on purpose: each hash or check keeps a core busy for tens of
 * milliseconds. Unbounded, a burst of sign-ups or sign-ins takes every core and everything else on the
 * node waits (health checks too); so at most all cores but one hash at once, and the rest queue.
 */
const HASHING_AT_ONCE = Math.max(1, availableParallelism() - 1);

/** Runs `work` with at most `limit` of them at a time; the others wait in order. */
export function concurrencyLimit(limit: number) {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async function run<T>(work: () => Promise<T>): Promise<T> {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await work();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

const hashing = concurrencyLimit(HASHING_AT_ONCE);

export function hashPassword(password: string): Promise<string> {
  return hashing(() => Bun.password.hash(password, { algorithm: 'argon2id' }));
}

export function verifyPassword(password: string, hash: string): Promise<boolean> {
  return hashing(() => Bun.password.verify(password, hash));
}
