import { timingSafeEqual } from 'node:crypto';
import { Elysia, t } from 'elysia';
import { AppError } from '../../errors.ts';
import { ProblemModel } from '../shared-model.ts';

export interface Gauge {
  name: string;
  help: string;
  value: number;
  labels?: Record<string, string>;
}

/** Something that reports gauges when /metrics is scraped (the relay, the bus, the gateway, ...). */
export type GaugeSource = () => Promise<Gauge[]> | Gauge[];

const escapeLabel = (value: string) =>
  value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** Prometheus text exposition (version 0.0.4) of the gauges, one HELP/TYPE block per name. */
export function renderMetrics(gauges: Gauge[]): string {
  const byName = new Map<string, Gauge[]>();
  for (const gauge of gauges) byName.set(gauge.name, [...(byName.get(gauge.name) ?? []), gauge]);
  const lines: string[] = [];
  for (const [name, series] of byName) {
    lines.push(`# HELP ${name} ${series[0]?.help ?? ''}`, `# TYPE ${name} gauge`);
    for (const gauge of series) {
      const labels = Object.entries(gauge.labels ?? {})
        .map(([key, value]) => `${key}="${escapeLabel(value)}"`)
        .join(',');
      lines.push(
        `${name}${labels ? `{${labels}}` : ''} ${Number.isFinite(gauge.value) ? gauge.value : 'NaN'}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

function processGauges(): Gauge[] {
  const memory = process.memoryUsage();
  return [
    { name: 'wrapper_process_resident_memory_bytes', help: 'Resident set size', value: memory.rss },
    { name: 'wrapper_process_heap_used_bytes', help: 'JavaScript heap in use', value: memory.heapUsed },
    {
      name: 'wrapper_process_uptime_seconds',
      help: 'Seconds since the process started',
      value: process.uptime(),
    },
  ];
}

/** The event pipeline's gauges: relay lag, bus length, sockets on this node. */
export function pipelineGauges(pipeline: {
  relay: { lag(): Promise<{ events: number; tenants: number; oldestSeconds: number }> };
  bus: { kind: string; length(): Promise<number> };
  gateway?: { connectionCount(): number };
}): GaugeSource[] {
  return [
    async () => {
      const lag = await pipeline.relay.lag();
      return [
        {
          name: 'wrapper_event_relay_lag_events',
          help: 'Committed events not yet on the bus',
          value: lag.events,
        },
        {
          name: 'wrapper_event_relay_lag_tenants',
          help: 'Tenants with events not yet on the bus',
          value: lag.tenants,
        },
        {
          name: 'wrapper_event_relay_oldest_pending_seconds',
          help: 'Age of the oldest event not yet on the bus',
          value: lag.oldestSeconds,
        },
      ];
    },
    async () => [
      {
        name: 'wrapper_event_bus_length',
        help: 'Entries held by the event bus (the Redis stream length; 0 in process)',
        value: await pipeline.bus.length(),
        labels: { bus: pipeline.bus.kind },
      },
    ],
    () =>
      pipeline.gateway
        ? [
            {
              name: 'wrapper_realtime_sockets',
              help: 'Sockets connected to this node',
              value: pipeline.gateway.connectionCount(),
            },
          ]
        : [],
  ];
}

/**
 * `GET /metrics` for Prometheus. With `token` set, scrapers send `Authorization: Bearer <token>`;
 * without, the endpoint is open (bind it to an internal network).
 */
export function metricsRoutes(options: { sources: GaugeSource[]; token?: string }) {
  const expected = options.token ? Buffer.from(`Bearer ${options.token}`) : null;
  return new Elysia({ name: 'metrics-routes' }).get(
    '/metrics',
    async ({ headers }) => {
      if (expected) {
        const given = Buffer.from(headers.authorization ?? '');
        if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
          throw new AppError('unauthorized', 'Send the metrics token as a bearer token.');
        }
      }
      const gauges = [...processGauges()];
      for (const source of options.sources) {
        try {
          gauges.push(...(await source()));
        } catch {
          // A source that cannot answer (Redis down) leaves its gauges out; the scrape still works.
        }
      }
      return new Response(renderMetrics(gauges), {
        headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' },
      });
    },
    {
      response: {
        200: t.String({ description: 'Prometheus text exposition format 0.0.4' }),
        401: ProblemModel,
      },
      detail: {
        tags: ['operations'],
        summary: 'Prometheus metrics (event relay lag, stream length, sockets)',
      },
    },
  );
}
