/**
 * `bun ops/bench/audit-writes.ts`: what the audit trail costs the write path. The same server build runs
 * twice on Postgres (+ Redis), each time on a fresh database: once as shipped, once with the database's
 * audit work taken out — `append_audit_entry()` replaced by a function that only answers a seq, so no
 * chain-head lock, no entry, no `audit.recorded` event, no feed row (what the application does before the
 * call, the canonical JSON and its SHA-256, and the call's round trip stay in both). Measured in each:
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

async function measure(audit: boolean): Promise<Record<'organizations' | 'spread' | 'hot', Load>> {
  const name = `wrapper_audit_writes_${audit ? 'with' : 'without'}_${suffix}`;
  await admin.unsafe(`create database ${name}`);
  let node: ServerProcess | null = null;
  try {
    node = await startServerProcess({
      DATABASE_URL: urlFor(name).toString(),
      REDIS_URL: redisUrl,
      DATABASE_POOL_MAX: '16',
      LOG_LEVEL: 'warn',
      JWT_SECRET: `audit-writes-bench-${crypto.randomUUID()}`,
      RATE_LIMIT_AUTH_PER_MINUTE: '0',
      RATE_LIMIT_TENANT_PER_MINUTE: '0',
    });
    // The server migrated the database as it started; the replacement comes after, as its owner.
    if (!audit) {
      const owner = postgres(urlFor(name).toString(), { max: 1, onnotice: () => {} });
      await owner.unsafe(NO_AUDIT);
      await owner.end();
    }
    const base = node.baseUrl;
    const tokens: string[] = [];
    for (let index = 0; index < clients; index++) {
      const signup = await json<{ accessToken: string }>(
        await fetch(`${base}/v1/auth/signup`, {
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
        await fetch(`${base}/v1/credits/grants`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${signup.accessToken}` },
          body: JSON.stringify({ amount: 1_000_000_000, reason: 'bench' }),
        }),
      );
      tokens.push(signup.accessToken);
    }
    const label = audit ? 'with audit' : 'without audit';
    console.log(`${label}: POST /v1/organizations, ${clients} connections over ${clients} tenants...`);
    const organizations = load(`${base}/v1/organizations`, tokens, { name: 'Bench organization' });
    console.log(`${label}: POST /v1/credits/consume, spread, then one hot tenant...`);
    const consume = { amount: 1, reason: 'bench' };
    const spread = load(`${base}/v1/credits/consume`, tokens, consume);
    const hot = load(`${base}/v1/credits/consume`, [tokens[0] as string], consume);
    return { organizations, spread, hot };
  } finally {
    await node?.stop();
    await admin.unsafe(`drop database if exists ${name} with (force)`).catch(() => {});
  }
}

try {
  const without = await measure(false);
  const withAudit = await measure(true);
  const cases = [
    ['organizations, spread', 'organizations'],
    ['consume, spread', 'spread'],
    ['consume, one hot tenant', 'hot'],
  ] as const;
  console.log(`\naudit on the write path (${clients} connections, ${seconds}s each, on Postgres + Redis)`);
  console.log(
    `  ${'case'.padEnd(28)} ${'without'.padStart(9)} ${'with'.padStart(9)} ${'ratio'.padStart(6)}  p99 with (ms)`,
  );
  let worst = Number.POSITIVE_INFINITY;
  let errors = 0;
  for (const [label, key] of cases) {
    const ratio = withAudit[key].rps / without[key].rps;
    worst = Math.min(worst, ratio);
    errors += withAudit[key].errors + without[key].errors;
    console.log(
      `  ${label.padEnd(28)} ${without[key].rps.toFixed(0).padStart(9)} ${withAudit[key].rps.toFixed(0).padStart(9)} ${ratio.toFixed(3).padStart(6)}  ${withAudit[key].p99.toFixed(2)}`,
    );
  }
  console.log(
    `  errors ${errors}; worst ratio ${worst.toFixed(3)} (target ≥ 0.9): ${worst >= 0.9 ? 'met' : 'missed'}`,
  );
} finally {
  await admin.end();
}
