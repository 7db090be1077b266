import { Elysia } from 'elysia';
import type { Logger } from '../logger.ts';
import { requestIdOf, requestStartOf } from './request-id.ts';

export function requestLogging(logger: Logger) {
  return new Elysia({ name: 'request-logging' }).onAfterResponse({ as: 'global' }, ({ request, set }) => {
    if (!logger.isLevelEnabled('info')) return;
    const url = new URL(request.url);
    logger.info(
      {
        requestId: requestIdOf(request),
        method: request.method,
        path: url.pathname,
        status: typeof set.status === 'number' ? set.status : 200,
        durationMs: Math.round((performance.now() - requestStartOf(request)) * 100) / 100,
      },
      'request',
    );
  });
}
