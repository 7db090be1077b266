import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { startTestApp, type TestApp } from '../../testing/harness.ts';
import { renderMetrics } from './metrics.ts';

let app: TestApp;
const token = 'metrics-token-0123456789abcdef';

beforeAll(async () => {
  app = await startTestApp({ realtime: {}, metricsToken: token });
});
afterAll(() => app.dispose());

const scrape = (authorization?: string) =>
  app.request('GET', '/metrics', authorization ? { headers: { authorization } } : {});

function gauge(text: string, name: string): number {
  const line = text
    .split('\n')
    .find((candidate) => candidate.startsWith(`${name} `) || candidate.startsWith(`${name}{`));
  if (!line) throw new Error(`no ${name} in:\n${text}`);
  return Number(line.split(' ').at(-1));
}

describe('GET /metrics', () => {
  test('needs the bearer token when one is set', async () => {
    expect((await scrape()).status).toBe(401);
    expect((await scrape('Bearer wrong-token-0123456789abc')).status).toBe(401);
    const answer = await scrape(`Bearer ${token}`);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toContain('text/plain; version=0.0.4');
  });

  test('reports the relay lag, the bus and the sockets, in Prometheus text format', async () => {
    const owner = await app.signUp();
    for (let index = 0; index < 3; index++) {
      await app.request('POST', '/v1/organizations', {
        token: owner.token,
        body: { name: `Org ${index}`, parentId: owner.rootOrganizationId },
      });
    }
    await app.realtime?.relay.drain();
    const text: string = (await scrape(`Bearer ${token}`)).body;
    expect(text).toContain('# TYPE wrapper_event_relay_lag_events gauge');
    expect(gauge(text, 'wrapper_event_relay_lag_events')).toBe(0);
    expect(gauge(text, 'wrapper_realtime_sockets')).toBe(0);
    expect(gauge(text, 'wrapper_process_resident_memory_bytes')).toBeGreaterThan(1_000_000);
    expect(text).toMatch(/wrapper_event_bus_length\{bus="(memory|redis)"\} \d+/);
  });

  test('renders labels escaped and one HELP/TYPE per name', () => {
    const text = renderMetrics([
      { name: 'x_total', help: 'X', value: 1, labels: { path: 'a"b\\c' } },
      { name: 'x_total', help: 'X', value: 2, labels: { path: 'd' } },
    ]);
    expect(text).toBe(
      '# HELP x_total X\n# TYPE x_total gauge\nx_total{path="a\\"b\\\\c"} 1\nx_total{path="d"} 2\n',
    );
  });
});
