/**
 * `bun ops/bench/audit-writes.ts`: what the audit trail costs the write path. Two servers of the same
 * build run side by side on Postgres (+ Redis), each on a fresh database: one as shipped, one with the
 * database's audit work taken out — `append_audit_entry()` replaced by a function that only answers a
 * seq, so no chain-head lock, no entry, no `audit.recorded` event, no feed row (what the application
 * does before the call, the canonical JSON and its SHA-256, and the call's round trip stay in both).
 * Each case is loaded on one server, then the other, for a few rounds, so the machine's drift falls on
 * both alike:
 * - `POST /v1/organizations`, 64 connections over 64 tenants;
 * - `POST /v1/credits/consume` over 64 tenants, and on one hot tenant (its balance row and its chain head
 *   serialise those by design).
 * Prints req/s and the ratio with audit ÷ without (target ≥ 0.9).
 * Usage: bun ops/bench/audit-writes.ts (BENCH_DATABASE_URL, BENCH_REDIS_URL, BENCH_CONNECTIONS, BENCH_SECONDS)
 */
import postgres from 'postgres';
import { type ServerProcess, startServerProcess } from '../../server/testing/server-process.ts';

const baseUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const clients = Number(process.env.BENCH_CONNECTIONS ?? 64);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const suffix = crypto.randomUUID().replaceAll('-', '').slice(0, 10);
const admin = postgres(baseUrl, { max: 1, onnotice: () => {} });
const urlFor = (name: string) => Object.assign(new URL(baseUrl), { pathname: `/${name}` });

/** The shipped signature (migration 0038), answering a seq and doing nothing else. */
const NO_AUDIT = `
  CREATE OR REPLACE FUNCTION append_audit_entry(
    entry_tenant uuid, entry_id uuid, entry_occurred_at timestamptz, entry_action text, entry_actor_type text,
    entry_actor_id text, entry_actor_name text, entry_targets jsonb, entry_context jsonb,
    entry_changes jsonb, entry_metadata jsonb, entry_outcome text, entry_digest bytea, event_id uuid
  ) RETURNS bigint LANGUAGE sql AS 'SELECT 1::bigint'`;

interface Load {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

async function json<T>(response: Response): Promise<T> {
  if (!response.ok) throw new Error(`${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

function load(url: string, tokens: string[], body: unknown): Load {
  const run = Bun.spawnSync(
    ['bun', `${import.meta.dir}/load.ts`, url, String(clients), String(seconds), tokens.join(',')],
    { env: { ...process.env, LOAD_BODY: JSON.stringify(body) } },
  );
  if (run.exitCode !== 0) throw new Error(`load failed: ${run.stderr.toString()}`);
  return JSON.parse(run.stdout.toString().trim().split('\n').at(-1) ?? '{}') as Load;
}

interface Variant {
  node: ServerProcess;
  tokens: string[];
}

/** What the run started, stopped in reverse at the end: servers before their databases. */
const cleanups: Array<() => Promise<void>> = [];

/** A server on a fresh database with `clients` tenants, each granted credits; audit work out if not `audit`. */
async function startVariant(audit: boolean): Promise<Variant> {
  const database = `wrapper_audit_writes_${audit ? 'with' : 'without'}_${suffix}`;
  await admin.unsafe(`create database ${database}`);
  cleanups.push(() => admin.unsafe(`drop database if exists ${database} with (force)`).then(() => {}));
  const node = await startServerProcess({
    DATABASE_URL: urlFor(database).toString(),
    REDIS_URL: redisUrl,
    DATABASE_POOL_MAX: '16',
    LOG_LEVEL: 'warn',
    JWT_SECRET: `audit-writes-bench-${crypto.randomUUID()}`,
    RATE_LIMIT_AUTH_PER_MINUTE: '0',
    RATE_LIMIT_TENANT_PER_MINUTE: '0',
  });
  cleanups.unshift(async () => {
    await node.stop();
  });
  // The server migrated the database as it started; the replacement comes after, as its owner.
  if (!audit) {
    const owner = postgres(urlFor(database).toString(), { max: 1, onnotice: () => {} });
    await owner.unsafe(NO_AUDIT);
    await owner.end();
  }
  const tokens: string[] = [];
  for (let index = 0; index < clients; index++) {
    const signup = await json<{ accessToken: string }>(
      await fetch(`${node.baseUrl}/v1/auth/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          email: `audit-writes-${index}@bench.test`,
          password: 'bench password',
          name: 'Bench',
          organizationName: `Tenant ${index}`,
        }),
      }),
    );
    await json(
      await fetch(`${node.baseUrl}/v1/credits/grants`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${signup.accessToken}` },
        body: JSON.stringify({ amount: 1_000_000_000, reason: 'bench' }),
      }),
    );
    tokens.push(signup.accessToken);
  }
  return { node, tokens };
}

const cases = [
  {
    label: 'organizations, spread',
    path: '/v1/organizations',
    body: { name: 'Bench organization' },
    hot: false,
  },
  { label: 'consume, spread', path: '/v1/credits/consume', body: { amount: 1, reason: 'bench' }, hot: false },
  {
    label: 'consume, one hot tenant',
    path: '/v1/credits/consume',
    body: { amount: 1, reason: 'bench' },
    hot: true,
  },
];
const rounds = 2;

try {
  const without = await startVariant(false);
  const withAudit = await startVariant(true);
  console.log(`audit on the write path: ${cases.length} cases, ${rounds} rounds of ${seconds}s each way...`);
  const rows: string[] = [];
  let worst = Number.POSITIVE_INFINITY;
  let errors = 0;
  for (const entry of cases) {
    // Alternating the two servers, round after round, spreads the machine's drift over both.
    const totals = { without: 0, with: 0, p99: 0 };
    for (let round = 0; round < rounds; round++) {
      for (const [variant, key] of [
        [without, 'without'],
        [withAudit, 'with'],
      ] as const) {
        const tokens = entry.hot ? [variant.tokens[0] as string] : variant.tokens;
        const result = load(`${variant.node.baseUrl}${entry.path}`, tokens, entry.body);
        totals[key] += result.rps / rounds;
        errors += result.errors;
        if (key === 'with') totals.p99 = Math.max(totals.p99, result.p99);
      }
    }
    const ratio = totals.with / totals.without;
    worst = Math.min(worst, ratio);
    rows.push(
      `  ${entry.label.padEnd(28)} ${totals.without.toFixed(0).padStart(9)} ${totals.with.toFixed(0).padStart(9)} ${ratio.toFixed(3).padStart(6)}  ${totals.p99.toFixed(2)}`,
    );
  }
  console.log(
    `\naudit on the write path (${clients} connections, req/s averaged over ${rounds} rounds, Postgres + Redis)`,
  );
  console.log(
    `  ${'case'.padEnd(28)} ${'without'.padStart(9)} ${'with'.padStart(9)} ${'ratio'.padStart(6)}  p99 with (ms)`,
  );
  for (const row of rows) console.log(row);
  console.log(
    `  errors ${errors}; worst ratio ${worst.toFixed(3)} (target ≥ 0.9): ${worst >= 0.9 ? 'met' : 'missed'}`,
  );
} finally {
  for (const cleanup of cleanups) await cleanup().catch(() => {});
  await admin.end();
}
