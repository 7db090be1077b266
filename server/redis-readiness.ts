import Redis from 'ioredis';
import type { ReadinessCheck } from './features/health/routes.ts';

/** Readiness of Redis when REDIS_URL is set; the event bus that uses it arrives with the events issue. */
export function redisReadiness(url: string): { check: ReadinessCheck; close(): Promise<void> } {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
  redis.on('error', () => {}); // reported through /readyz instead of crashing the process
  return {
    check: {
      name: 'redis',
      async check() {
        if (redis.status === 'wait' || redis.status === 'end') await redis.connect();
        const answer = await redis.ping();
        if (answer !== 'PONG') throw new Error(`unexpected answer ${answer}`);
      },
    },
    close: async () => {
      redis.disconnect();
    },
  };
}
