import ecsFormat from '@elastic/ecs-pino-format';
import pino, { type Logger } from 'pino';
import type { Config } from './config.ts';

export type { Logger };

export function createLogger(config: Pick<Config, 'LOG_LEVEL' | 'LOG_FORMAT'>): Logger {
  const base = { level: config.LOG_LEVEL, base: { service: 'wrapper' } };
  if (config.LOG_FORMAT === 'ecs') return pino({ ...base, ...ecsFormat({ convertReqRes: false }) });
  if (config.LOG_FORMAT === 'pretty') {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true } } });
  }
  return pino(base);
}
