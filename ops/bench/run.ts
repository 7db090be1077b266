/**
 * `bun run bench`: measures Wrapper against a ceiling taken on the same machine in the same run, and
 * prints ratios. Needs a Postgres server (BENCH_DATABASE_URL, default the local one) and `pgbench`.
 *
 * 1. ceiling: `pgbench -S` (one indexed SELECT per transaction) over TCP with the same client count;
 * 2. Wrapper: authenticated GET /v1/organizations (JWT check + access check + RLS transaction + query +
 *    JSON) on Postgres: one node without Redis (every access check runs in Postgres), then with Redis
 *    (passed checks remembered there) on one node and on two nodes sharing the database.
 */
import postgres from 'postgres';
import { type ServerProcess, startServerProcess } from '../../server/testing/server-process.ts';

const baseUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const clients = Number(process.env.BENCH_CONNECTIONS ?? 64);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const poolPerNode = Number(process.env.BENCH_POOL ?? 16);
const suffix = crypto.randomUUID().replaceAll('-', '').slice(0, 10);
const appDb = `wrapper_bench_${suffix}`;
const pgbenchDb = `wrapper_pgbench_${suffix}`;

const admin = postgres(baseUrl, { max: 1, onnotice: () => {} });
const urlFor = (name: string) => Object.assign(new URL(baseUrl), { pathname: `/${name}` });

function pgbench(args: string[]) {
  const url = urlFor(pgbenchDb);
  const env = { ...process.env, PGPASSWORD: decodeURIComponent(url.password) };
  const connection = [
    '-h',
    url.hostname,
    '-p',
    url.port || '5432',
    '-U',
    decodeURIComponent(url.username) || 'postgres',
  ];
  const result = Bun.spawnSync(['pgbench', ...connection, ...args, pgbenchDb], { env });
  const output = result.stdout.toString() + result.stderr.toString();
  if (result.exitCode !== 0) throw new Error(`pgbench failed:\n${output}`);
  return output;
}

function parsePgbench(output: string) {
  const tps = Number(/tps = ([\d.]+)/.exec(output)?.[1]);
  const latency = Number(/latency average = ([\d.]+) ms/.exec(output)?.[1]);
  return { tps, latencyAverageMs: latency };
}

interface LoadResult {
  requests: number;
  errors: number;
  rps: number;
  p50: number;
  p99: number;
}

const rows: Array<{ name: string; value: string }> = [];
const servers: ServerProcess[] = [];
const jwtSecret = crypto.randomUUID() + crypto.randomUUID();

try {
  await admin.unsafe(`create database ${appDb}`);
  await admin.unsafe(`create database ${pgbenchDb}`);

  console.log(`Ceiling: pgbench -S, ${clients} clients, ${seconds}s over TCP...`);
  pgbench(['-i', '-q', '-s', '10']);
  const ceiling = parsePgbench(
    pgbench(['-S', '-n', '-c', String(clients), '-j', '2', '-T', String(seconds)]),
  );

  const startNode = async (withRedis: boolean) => {
    const node = await startServerProcess({
      DATABASE_URL: urlFor(appDb).toString(),
      DATABASE_POOL_MAX: String(poolPerNode),
      REDIS_URL: withRedis ? redisUrl : undefined,
      LOG_LEVEL: 'warn',
      JWT_SECRET: jwtSecret,
      // The load is one tenant far above any sane per-tenant limit: that limit is off for the run.
      RATE_LIMIT_TENANT_PER_MINUTE: '0',
    });
    servers.push(node);
    return node;
  };
  console.log('Wrapper: starting a node on Postgres, without Redis...');
  const first = await startNode(false);
  const signup = await fetch(`${first.baseUrl}/v1/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      email: 'bench@example.test',
      password: 'bench password',
      name: 'Bench',
      organizationName: 'Bench',
    }),
  }).then((response) => response.json() as Promise<{ accessToken: string; organization: { id: string } }>);
  for (let index = 0; index < 9; index++) {
    await fetch(`${first.baseUrl}/v1/organizations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${signup.accessToken}` },
      body: JSON.stringify({ name: `Team ${index}`, parentId: signup.organization.id }),
    });
  }

  const measure = (nodes: ServerProcess[]) => {
    const targets = nodes.map((node) => `${node.baseUrl}/v1/organizations`).join(',');
    const load = Bun.spawnSync([
      'bun',
      `${import.meta.dir}/load.ts`,
      targets,
      String(clients),
      String(seconds),
      signup.accessToken,
    ]);
    if (load.exitCode !== 0) throw new Error(`load generator failed: ${load.stderr.toString()}`);
    return JSON.parse(load.stdout.toString().trim().split('\n').at(-1) ?? '{}') as LoadResult;
  };
  console.log(
    `Wrapper: GET /v1/organizations (10 rows), ${clients} connections, ${seconds}s, one node, every access check in Postgres...`,
  );
  const uncached = measure([first]);
  await first.stop();
  console.log('Wrapper: the same with Redis (passed access checks remembered), one node...');
  const cachedNode = await startNode(true);
  const wrapper = measure([cachedNode]);
  console.log('Wrapper: the same on two nodes...');
  const second = await startNode(true);
  const twoNodes = measure([cachedNode, second]);

  const ratio = wrapper.rps / ceiling.tps;
  rows.push(
    { name: 'pgbench -S TPS (ceiling)', value: ceiling.tps.toFixed(0) },
    { name: 'pgbench -S latency avg (ms)', value: ceiling.latencyAverageMs.toFixed(2) },
    { name: 'no Redis: req/s', value: uncached.rps.toFixed(0) },
    { name: 'no Redis: p50 / p99 (ms)', value: `${uncached.p50.toFixed(2)} / ${uncached.p99.toFixed(2)}` },
    { name: 'no Redis: ratio ÷ pgbench TPS', value: (uncached.rps / ceiling.tps).toFixed(3) },
    { name: 'GET /v1/organizations req/s', value: wrapper.rps.toFixed(0) },
    { name: 'GET /v1/organizations p50 (ms)', value: wrapper.p50.toFixed(2) },
    { name: 'GET /v1/organizations p99 (ms)', value: wrapper.p99.toFixed(2) },
    { name: 'errors', value: String(wrapper.errors + uncached.errors) },
    { name: 'ratio req/s ÷ pgbench TPS', value: `${ratio.toFixed(3)} (target ≥ 0.30)` },
    { name: 'p99 target ≤ 25 ms', value: wrapper.p99 <= 25 ? 'met' : 'missed' },
    { name: 'remembered ÷ Postgres-checked req/s', value: (wrapper.rps / uncached.rps).toFixed(2) },
    { name: 'two nodes: req/s', value: twoNodes.rps.toFixed(0) },
    { name: 'two nodes: p50 / p99 (ms)', value: `${twoNodes.p50.toFixed(2)} / ${twoNodes.p99.toFixed(2)}` },
    { name: 'two nodes: errors', value: String(twoNodes.errors) },
    { name: 'two nodes: ratio ÷ pgbench TPS', value: (twoNodes.rps / ceiling.tps).toFixed(3) },
  );
  console.log('\nresult');
  for (const row of rows) console.log(`  ${row.name.padEnd(34)} ${row.value}`);
} finally {
  for (const node of servers) await node.stop();
  await admin.unsafe(`drop database if exists ${appDb} with (force)`).catch(() => {});
  await admin.unsafe(`drop database if exists ${pgbenchDb} with (force)`).catch(() => {});
  await admin.end();
}
