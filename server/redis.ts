import Redis from 'ioredis';
import type { ReadinessCheck } from './features/health/routes.ts';

/** One Redis client for the node (rate limits now; the event bus next). Errors surface through /readyz. */
export function connectRedis(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
  redis.on('error', () => {});
  return redis;
}

export function redisReadiness(redis: Redis): ReadinessCheck {
  return {
    name: 'redis',
    async check() {
      if (redis.status === 'wait' || redis.status === 'end') await redis.connect();
      // Commands are not queued while disconnected (rate limiting fails fast), so wait for the link.
      if (redis.status !== 'ready') {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`not connected (${redis.status})`)), 1500);
          redis.once('ready', () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      const answer = await redis.ping();
      if (answer !== 'PONG') throw new Error(`unexpected answer ${answer}`);
    },
  };
}
