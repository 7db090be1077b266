/**
 * `POST /v1/credits/consume` on Postgres (+ Redis), 64 connections, against `pgbench` (its tpcb-like
 * script: one account debit with history, the classic ledger transaction) in the same run:
 * - spread: the connections over 64 tenants;
 * - hot: every connection on one tenant (its balance row serialises them, by design).
 * Usage: bun ops/bench/credits.ts (BENCH_DATABASE_URL, BENCH_REDIS_URL, BENCH_CONNECTIONS, BENCH_SECONDS)
 */
import postgres from 'postgres';
import { type ServerProcess, startServerProcess } from '../../server/testing/server-process.ts';

const baseUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const clients = Number(process.env.BENCH_CONNECTIONS ?? 64);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const suffix = crypto.randomUUID().replaceAll('-', '').slice(0, 10);
const appDb = `wrapper_credits_${suffix}`;
const pgbenchDb = `wrapper_tpcb_${suffix}`;
const admin = postgres(baseUrl, { max: 1, onnotice: () => {} });
const urlFor = (name: string) => Object.assign(new URL(baseUrl), { pathname: `/${name}` });

function pgbench(args: string[]): string {
  const url = urlFor(pgbenchDb);
  const result = Bun.spawnSync(
    [
      'pgbench',
      '-h',
      url.hostname,
      '-p',
      url.port || '5432',
      '-U',
      decodeURIComponent(url.username) || 'postgres',
      ...args,
      pgbenchDb,
    ],
    { env: { ...process.env, PGPASSWORD: decodeURIComponent(url.password) } },
  );
  const output = result.stdout.toString() + result.stderr.toString();
  if (result.exitCode !== 0) throw new Error(`pgbench failed:\n${output}`);
  return output;
}

async function json<T>(response: Response): Promise<T> {
  if (!response.ok) throw new Error(`${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

let node: ServerProcess | null = null;
try {
  await admin.unsafe(`create database ${appDb}`);
  await admin.unsafe(`create database ${pgbenchDb}`);
  console.log(`Ceiling: pgbench tpcb-like, ${clients} clients, ${seconds}s...`);
  pgbench(['-i', '-q', '-s', '10']);
  const tpcb = Number(
    /tps = ([\d.]+)/.exec(pgbench(['-n', '-c', String(clients), '-j', '2', '-T', String(seconds)]))?.[1],
  );

  node = await startServerProcess({
    DATABASE_URL: urlFor(appDb).toString(),
    REDIS_URL: redisUrl,
    DATABASE_POOL_MAX: '16',
    LOG_LEVEL: 'warn',
    JWT_SECRET: `credits-bench-${crypto.randomUUID()}`,
    RATE_LIMIT_AUTH_PER_MINUTE: '0',
    RATE_LIMIT_TENANT_PER_MINUTE: '0',
  });
  const base = node.baseUrl;
  console.log(`Wrapper: ${clients} tenants, each granted 10^9 credits...`);
  const tokens: string[] = [];
  for (let index = 0; index < clients; index++) {
    const signup = await json<{ accessToken: string }>(
      await fetch(`${base}/v1/auth/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          email: `credits-${index}@bench.test`,
          password: 'bench password',
          name: 'Bench',
          organizationName: `Tenant ${index}`,
        }),
      }),
    );
    await json(
      await fetch(`${base}/v1/credits/grants`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${signup.accessToken}` },
        body: JSON.stringify({ amount: 1_000_000_000, reason: 'bench' }),
      }),
    );
    tokens.push(signup.accessToken);
  }
  const measure = (tokenSet: string[]) => {
    const load = Bun.spawnSync(
      [
        'bun',
        `${import.meta.dir}/load.ts`,
        `${base}/v1/credits/consume`,
        String(clients),
        String(seconds),
        tokenSet.join(','),
      ],
      { env: { ...process.env, LOAD_BODY: JSON.stringify({ amount: 1, reason: 'bench' }) } },
    );
    if (load.exitCode !== 0) throw new Error(`load failed: ${load.stderr.toString()}`);
    return JSON.parse(load.stdout.toString().trim().split('\n').at(-1) ?? '{}') as {
      rps: number;
      p50: number;
      p99: number;
      errors: number;
    };
  };
  console.log(
    `Wrapper: POST /v1/credits/consume, ${clients} connections over ${clients} tenants, ${seconds}s...`,
  );
  const spread = measure(tokens);
  console.log('Wrapper: the same on one hot tenant...');
  const hot = measure([tokens[0] as string]);
  const rows = [
    ['pgbench tpcb-like TPS (ceiling)', tpcb.toFixed(0)],
    ['consume, spread: req/s', spread.rps.toFixed(0)],
    ['consume, spread: p50 / p99 (ms)', `${spread.p50.toFixed(2)} / ${spread.p99.toFixed(2)}`],
    ['consume, spread: ratio ÷ tpcb (target ≥ 0.5)', (spread.rps / tpcb).toFixed(3)],
    ['consume, one hot tenant: req/s', hot.rps.toFixed(0)],
    ['consume, one hot tenant: p50 / p99 (ms)', `${hot.p50.toFixed(2)} / ${hot.p99.toFixed(2)}`],
    ['consume, one hot tenant: ratio ÷ tpcb', (hot.rps / tpcb).toFixed(3)],
    ['errors', String(spread.errors + hot.errors)],
  ];
  console.log('\ncredits result');
  for (const [name, value] of rows) console.log(`  ${String(name).padEnd(46)} ${value}`);
} finally {
  await node?.stop();
  await admin.unsafe(`drop database if exists ${appDb} with (force)`).catch(() => {});
  await admin.unsafe(`drop database if exists ${pgbenchDb} with (force)`).catch(() => {});
  await admin.end();
}
