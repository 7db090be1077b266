/**
 * Webhook benchmarks on Postgres + Redis (one server process), ratios against baselines of the same run:
 * 1. throughput: deliveries per second to a local receiver with 100 endpoints subscribed, after a burst
 *    of events, against plain POSTs of the same bodies to the same receiver at the same concurrency;
 * 2. latency: POST sent → delivery received, p50/p99, at a steady event rate (BENCH_WEBHOOK_RATE, 200/s)
 *    to one endpoint;
 * 3. the REST read path (GET /v1/organizations) under the delivery load of (1), ÷ the same load without
 *    (target: ≥ 0.9).
 * Usage: bun ops/bench/webhooks.ts
 */
import postgres from 'postgres';
import { type ServerProcess, startServerProcess } from '../../server/testing/server-process.ts';

const baseUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const endpoints = Number(process.env.BENCH_WEBHOOK_ENDPOINTS ?? 100);
const burst = Number(process.env.BENCH_WEBHOOK_BURST ?? 100);
const rate = Number(process.env.BENCH_WEBHOOK_RATE ?? 200);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const concurrency = Number(process.env.BENCH_WEBHOOK_CONCURRENCY ?? 32);
const name = `wrapper_bench_hooks_${crypto.randomUUID().replaceAll('-', '').slice(0, 10)}`;
const admin = postgres(baseUrl, { max: 1, onnotice: () => {} });

const arrivals: Array<{ id: string; at: number; orgName: string }> = [];
const receiver = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  async fetch(request) {
    const body = await request.text();
    if (request.headers.get('webhook-id')) {
      const event = JSON.parse(body) as { data: { organization?: { name: string } } };
      arrivals.push({
        id: request.headers.get('webhook-id') as string,
        at: performance.now(),
        orgName: event.data.organization?.name ?? '',
      });
    }
    return new Response(null, { status: 204 });
  },
});
const receiverUrl = `http://127.0.0.1:${receiver.port}/in`;

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};

async function readLoad(node: ServerProcess, token: string) {
  const child = Bun.spawn(
    ['bun', `${import.meta.dir}/load.ts`, `${node.baseUrl}/v1/organizations`, '32', String(seconds), token],
    { stdout: 'pipe', stderr: 'inherit' },
  );
  const output = await new Response(child.stdout).text();
  await child.exited;
  return JSON.parse(output.trim().split('\n').at(-1) ?? '{}') as { rps: number; p99: number; errors: number };
}

async function until(check: () => boolean, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await Bun.sleep(20);
  return check();
}

let node: ServerProcess | null = null;
const rows: Array<[string, string]> = [];
try {
  await admin.unsafe(`create database ${name}`);
  node = await startServerProcess({
    DATABASE_URL: Object.assign(new URL(baseUrl), { pathname: `/${name}` }).toString(),
    REDIS_URL: redisUrl,
    LOG_LEVEL: 'warn',
    JWT_SECRET: crypto.randomUUID() + crypto.randomUUID(),
    RATE_LIMIT_TENANT_PER_MINUTE: '0',
    WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    WEBHOOK_ALLOW_HTTP: 'true',
    WEBHOOK_CONCURRENCY: String(concurrency),
  });
  const server = node;
  const signUp = async (label: string) => {
    const answer = await fetch(`${server.baseUrl}/v1/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        email: `bench-${label}-${crypto.randomUUID().slice(0, 6)}@example.test`,
        password: 'bench password',
        name: 'Bench',
        organizationName: label,
      }),
    });
    return ((await answer.json()) as { accessToken: string }).accessToken;
  };
  const post = (token: string, path: string, body: unknown) =>
    fetch(`${server.baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });

  const reader = await signUp('Reader');
  for (let index = 0; index < 9; index++) await post(reader, '/v1/organizations', { name: `Team ${index}` });
  console.log(`REST read path without webhook load (${seconds}s)...`);
  const quiet = await readLoad(server, reader);

  // 1. Throughput, and the read path beside it.
  const fan = await signUp('Fan-out');
  for (let index = 0; index < endpoints; index++) {
    const made = await post(fan, '/v1/webhooks/endpoints', {
      url: `${receiverUrl}?endpoint=${index}`,
      eventTypes: ['organization.created'],
    });
    if (made.status !== 201) throw new Error(`endpoint: ${made.status} ${await made.text()}`);
  }
  console.log(`Burst: ${burst} events × ${endpoints} endpoints, with the REST read load alongside...`);
  arrivals.length = 0;
  const burstStarted = performance.now();
  const busy = readLoad(server, reader);
  for (let index = 0; index < burst; index += 10) {
    await Promise.all(
      Array.from({ length: Math.min(10, burst - index) }, (_, offset) =>
        post(fan, '/v1/organizations', { name: `Burst ${index + offset}` }),
      ),
    );
  }
  const loaded = await busy;
  const expected = burst * endpoints;
  await until(() => arrivals.length >= expected, 600_000);
  const delivered = arrivals.length;
  const throughput = delivered / ((Math.max(...arrivals.map((entry) => entry.at)) - burstStarted) / 1000);

  // The baseline: the same number of POSTs of a delivery-sized body, straight to the receiver.
  const sample = JSON.stringify({
    id: crypto.randomUUID(),
    type: 'organization.created',
    data: { organization: { name: 'x'.repeat(40) } },
  });
  let sent = 0;
  const rawStarted = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (sent < expected) {
        sent += 1;
        await (
          await fetch(`${receiverUrl}?raw`, {
            method: 'POST',
            body: sample,
            headers: { 'content-type': 'application/json' },
          })
        ).arrayBuffer();
      }
    }),
  );
  const raw = expected / ((performance.now() - rawStarted) / 1000);

  // 2. Latency at a steady rate, one endpoint.
  const steady = await signUp('Steady');
  await post(steady, '/v1/webhooks/endpoints', {
    url: `${receiverUrl}?steady`,
    eventTypes: ['organization.created'],
  });
  console.log(`Latency: ${rate} events/s for ${seconds}s to one endpoint...`);
  arrivals.length = 0;
  const sentAt = new Map<string, number>();
  const total = rate * seconds;
  const steadyStarted = performance.now();
  const inFlight: Promise<unknown>[] = [];
  for (let index = 0; index < total; index++) {
    const due = steadyStarted + (index * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await Bun.sleep(wait);
    const orgName = `Steady ${index}`;
    sentAt.set(orgName, performance.now());
    inFlight.push(
      post(steady, '/v1/organizations', { name: orgName }).then((answer) => answer.arrayBuffer()),
    );
  }
  await Promise.all(inFlight);
  const achieved = total / ((performance.now() - steadyStarted) / 1000);
  await until(() => arrivals.length >= total, 120_000);
  const latencies = arrivals.map((entry) => entry.at - (sentAt.get(entry.orgName) ?? entry.at));

  rows.push(
    ['deliveries/s, burst to 100 endpoints', throughput.toFixed(0)],
    ['plain POST/s to the receiver (baseline)', raw.toFixed(0)],
    ['ratio deliveries ÷ plain POSTs', (throughput / raw).toFixed(3)],
    ['delivered / expected', `${delivered} / ${expected}`],
    [`steady rate asked / achieved (events/s)`, `${rate} / ${achieved.toFixed(0)}`],
    [
      'POST sent → delivered p50 / p99 (ms)',
      `${percentile(latencies, 50).toFixed(1)} / ${percentile(latencies, 99).toFixed(1)}`,
    ],
    ['REST read req/s quiet / under deliveries', `${quiet.rps.toFixed(0)} / ${loaded.rps.toFixed(0)}`],
    ['REST read ratio under load (target ≥ 0.9)', (loaded.rps / quiet.rps).toFixed(3)],
    ['REST read errors', String(quiet.errors + loaded.errors)],
  );
  console.log(JSON.stringify(Object.fromEntries(rows)));
  console.log('\n| webhooks | value |\n| --- | --- |');
  for (const [label, value] of rows) console.log(`| ${label} | ${value} |`);
} finally {
  await node?.stop();
  receiver.stop(true);
  await admin.unsafe(`drop database if exists ${name} with (force)`).catch(() => {});
  await admin.end();
}
