import ecsFormat from '@elastic/ecs-pino-format';
import pino, { type Logger } from 'pino';
import type { Config } from './config.ts';

export type { Logger };

/**
 * JSON (or ECS) lines on stdout. Writes are buffered and asynchronous: a synchronous write per request
 * line measurably halves throughput under load. The buffer is written out at least every second (a
 * quiet server's lines, e.g. the setup link printed at start, must not wait for 4 KB of others), and
 * `flushLogger` runs at shutdown.
 */
export function createLogger(config: Pick<Config, 'LOG_LEVEL' | 'LOG_FORMAT'>): Logger {
  const base = { level: config.LOG_LEVEL, base: { service: 'wrapper' } };
  if (config.LOG_FORMAT === 'pretty') {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true } } });
  }
  const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  setInterval(() => {
    try {
      destination.flush();
    } catch {
      // Not open yet, or already closed at shutdown: nothing to write out.
    }
  }, 1000).unref();
  const options = config.LOG_FORMAT === 'ecs' ? { ...base, ...ecsFormat({ convertReqRes: false }) } : base;
  return pino(options, destination);
}

export function flushLogger(logger: Logger): void {
  logger.flush();
}
