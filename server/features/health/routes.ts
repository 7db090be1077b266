import { Elysia, t } from 'elysia';
import type { Database } from '../../../db/client.ts';

export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

const TIMEOUT_MS = 2000;

const Readiness = t.Object({
  status: t.Union([t.Literal('ready'), t.Literal('unavailable')]),
  checks: t.Record(t.String(), t.String({ description: '`ok`, or `failed: <reason>`' })),
});

function withTimeout(promise: Promise<void>): Promise<void> {
  return Promise.race([
    promise,
    new Promise<void>((_, reject) =>
      setTimeout(() => reject(new Error(`timed out after ${TIMEOUT_MS} ms`)), TIMEOUT_MS),
    ),
  ]);
}

export function healthRoutes(deps: { database: Database; checks?: ReadinessCheck[] }) {
  const checks: ReadinessCheck[] = [
    { name: 'database', check: () => deps.database.ping() },
    ...(deps.checks ?? []),
  ];
  return new Elysia({ name: 'health-routes' })
    .get('/healthz', () => ({ status: 'ok' as const }), {
      response: t.Object({ status: t.Literal('ok') }),
      detail: { tags: ['operations'], summary: 'Liveness: the process is up' },
    })
    .get(
      '/readyz',
      async ({ set }) => {
        const results = await Promise.all(
          checks.map(async ({ name, check }) => {
            try {
              await withTimeout(check());
              return [name, 'ok'] as const;
            } catch (error) {
              return [name, `failed: ${error instanceof Error ? error.message : String(error)}`] as const;
            }
          }),
        );
        const ready = results.every(([, state]) => state === 'ok');
        if (!ready) set.status = 503;
        return {
          status: ready ? ('ready' as const) : ('unavailable' as const),
          checks: Object.fromEntries(results),
        };
      },
      {
        // 503 here is the readiness answer itself (load balancers read the status), not a problem.
        response: { 200: Readiness, 503: Readiness },
        detail: {
          tags: ['operations'],
          summary: 'Readiness: the database (and Redis, when configured) answer',
        },
      },
    );
}
