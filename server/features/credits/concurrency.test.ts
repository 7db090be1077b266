import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { selectRows } from '../../../db/client.ts';
import { type SignedUp, startTestApp, type TestApp, testConfig } from '../../testing/harness.ts';

// The ledger under load, over many connections: thousands of consumes with random amounts and keys
// (some retried, at once and later), and reservations racing captures, releases and their own expiry.
// On Postgres with a pool of 32 connections; on the embedded database (one connection) a smaller run.

const onPostgres = Boolean(testConfig.DATABASE_URL);
const OPERATIONS = onPostgres ? 2_000 : 300;
const RESERVATIONS = onPostgres ? 240 : 60;

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp({ poolMax: 32 });
});
afterAll(() => app.dispose());

/** A small seeded generator: a failing run can be replayed exactly. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function postRaw(token: string, path: string, body: unknown, key?: string) {
  const payload = JSON.stringify(body);
  const response = await app.handle(
    new Request(`http://localhost${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(payload)),
        ...(key ? { 'idempotency-key': key } : {}),
      },
      body: payload,
    }),
  );
  return { status: response.status, text: await response.text() };
}

async function totals(tenantId: string) {
  const [row] = await selectRows<Record<string, string | number>>(
    app.database.owner,
    sql`select
          coalesce((select sum(amount) from credit_ledger where tenant_id = ${tenantId}), 0) as ledger_sum,
          coalesce((select balance from credit_balances where tenant_id = ${tenantId}), 0) as balance,
          coalesce((select min(balance_after) from credit_ledger where tenant_id = ${tenantId}), 0) as lowest,
          (select coalesce(sum(remaining), 0) from credit_lots where tenant_id = ${tenantId}) as in_lots,
          (select count(*) from events where tenant_id = ${tenantId} and type = 'credits.consumed') as consumed_events`,
  );
  return Object.fromEntries(Object.entries(row ?? {}).map(([key, value]) => [key, Number(value)]));
}

describe(`credits under concurrency (${onPostgres ? 'Postgres, 32 connections' : 'embedded'})`, () => {
  test(`${OPERATIONS} concurrent consumes over 4 tenants: never negative, one entry per success, replays identical`, async () => {
    const next = random(20261125);
    const tenants: SignedUp[] = [];
    const granted = new Map<string, number>();
    for (let index = 0; index < 4; index++) {
      const tenant = await app.signUp();
      tenants.push(tenant);
      // About 60 % of what will be asked for: a fair share of the requests must be refused.
      const amount = Math.round((OPERATIONS / 4) * 20 * 0.6);
      granted.set(tenant.tenantId, amount);
      await app.request('POST', '/v1/credits/grants', {
        token: tenant.token,
        body: { amount, reason: 'Pool' },
      });
    }
    const operations = Array.from({ length: OPERATIONS }, (_, index) => ({
      key: `op-${index}-${Math.floor(next() * 1e9)}`,
      tenant: tenants[Math.floor(next() * tenants.length)] as SignedUp,
      body: { amount: 1 + Math.floor(next() * 40), reason: `job ${index}`, metadata: { index } },
      retried: next() < 0.25,
    }));
    const send = (operation: (typeof operations)[number]) =>
      postRaw(operation.tenant.token, '/v1/credits/consume', operation.body, operation.key);

    // Every operation at once, a quarter of them twice at once (a client retrying a timeout).
    const first = await Promise.all(
      operations.flatMap((operation) =>
        (operation.retried ? [operation, operation] : [operation]).map(async (sent) => ({
          key: sent.key,
          ...(await send(sent)),
        })),
      ),
    );
    // And the retried ones once more, long after.
    const late = await Promise.all(
      operations
        .filter((operation) => operation.retried)
        .map(async (sent) => ({ key: sent.key, ...(await send(sent)) })),
    );

    const answers = new Map<string, { status: number; text: string }[]>();
    for (const answer of [...first, ...late])
      answers.set(answer.key, [...(answers.get(answer.key) ?? []), answer]);
    const statuses = new Map<number, number>();
    for (const operation of operations) {
      const got = answers.get(operation.key) ?? [];
      expect(got.length).toBe(operation.retried ? 3 : 1);
      // Every answer to a key is the first one, byte for byte.
      expect(new Set(got.map((answer) => `${answer.status} ${answer.text}`)).size).toBe(1);
      const status = got[0]?.status ?? 0;
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      const body = JSON.parse(got[0]?.text ?? '{}');
      if (status === 402) expect(body.balance).toBeLessThan(operation.body.amount);
      if (status === 201) expect(body.transaction.amount).toBe(-operation.body.amount);
    }
    // Only successes and refusals for lack of credits: no error, no conflict.
    expect([...statuses.keys()].sort()).toEqual([201, 402]);
    expect(statuses.get(402) ?? 0).toBeGreaterThan(OPERATIONS / 10);

    for (const tenant of tenants) {
      const mine = operations.filter((operation) => operation.tenant === tenant);
      const succeeded = mine.filter((operation) => answers.get(operation.key)?.[0]?.status === 201);
      const spent = succeeded.reduce((sum, operation) => sum + operation.body.amount, 0);
      const state = await totals(tenant.tenantId);
      expect(state.balance).toBeGreaterThanOrEqual(0);
      expect(state.lowest).toBeGreaterThanOrEqual(0);
      expect(state.ledger_sum).toBe(state.balance);
      expect(state.in_lots).toBe(state.balance);
      expect(state.balance).toBe((granted.get(tenant.tenantId) ?? 0) - spent);
      expect(state.consumed_events).toBe(succeeded.length);
      // Exactly one ledger entry per successful key, none for a refusal.
      const entries = await selectRows<{ idempotency_key: string; entries: string | number }>(
        app.database.owner,
        sql`select idempotency_key, count(*) as entries from credit_ledger
            where tenant_id = ${tenant.tenantId} and type = 'consume' group by idempotency_key`,
      );
      expect(entries.every((entry) => Number(entry.entries) === 1)).toBe(true);
      expect(entries.map((entry) => entry.idempotency_key).sort()).toEqual(
        succeeded.map((operation) => operation.key).sort(),
      );
    }
  }, 180_000);

  test(`${RESERVATIONS} reservations racing captures, releases, consumes and their own expiry`, async () => {
    const next = random(424242);
    const tenant = await app.signUp();
    const granted = RESERVATIONS * 12;
    await app.request('POST', '/v1/credits/grants', {
      token: tenant.token,
      body: { amount: granted, reason: 'Pool' },
    });
    const reserved = await Promise.all(
      Array.from({ length: RESERVATIONS }, async (_, index) => {
        const amount = 1 + Math.floor(next() * 20);
        const shortLived = index % 3 === 0;
        const answer = await postRaw(
          tenant.token,
          '/v1/credits/reservations',
          { amount, reason: `job ${index}`, ttlSeconds: shortLived ? 1 : 300 },
          `reserve-${index}`,
        );
        return { answer, amount, shortLived };
      }),
    );
    for (const entry of reserved) expect([201, 402]).toContain(entry.answer.status);
    const held = reserved
      .filter((entry) => entry.answer.status === 201)
      .map((entry) => ({ ...entry, id: JSON.parse(entry.answer.text).reservation.id as string }));

    // Captures, releases and direct consumes all at once; the short-lived ones are left to expire, then
    // captured too late.
    const settle = held
      .filter((entry) => !entry.shortLived)
      .map((entry) =>
        next() < 0.6
          ? postRaw(tenant.token, `/v1/credits/reservations/${entry.id}/capture`, {
              amount: Math.floor(next() * (entry.amount + 1)),
            })
          : postRaw(tenant.token, `/v1/credits/reservations/${entry.id}/release`, {}),
      );
    const direct = Array.from({ length: RESERVATIONS / 2 }, (_, index) =>
      postRaw(
        tenant.token,
        '/v1/credits/consume',
        { amount: 1 + (index % 9), reason: 'direct' },
        `direct-${index}`,
      ),
    );
    const settled = await Promise.all([...settle, ...direct]);
    for (const answer of settled) expect([200, 201, 402]).toContain(answer.status);

    await Bun.sleep(1_300);
    const tooLate = await Promise.all(
      held
        .filter((entry) => entry.shortLived)
        .map((entry) => postRaw(tenant.token, `/v1/credits/reservations/${entry.id}/capture`, { amount: 1 })),
    );
    for (const answer of tooLate) {
      expect(answer.status).toBe(409);
      expect(JSON.parse(answer.text).type).toBe('/problems/reservation-settled');
    }

    // Expired reservations are settled under the balance lock by the next movement or read that commits
    // (a refused capture rolls back, settlement included): read the balance as anyone would.
    const seen = await app.request('GET', '/v1/credits', { token: tenant.token });
    const state = await totals(tenant.tenantId);
    expect(seen.body.balance).toBe(state.balance);
    expect(state.balance).toBeGreaterThanOrEqual(0);
    expect(state.lowest).toBeGreaterThanOrEqual(0);
    expect(state.ledger_sum).toBe(state.balance);
    // What is spendable (lots) plus what is still held is the balance plus the held amounts.
    const [counts] = await selectRows<Record<string, string | number>>(
      app.database.owner,
      sql`select
            coalesce(sum(captured) filter (where status = 'captured'), 0) as captured,
            coalesce(sum(amount) filter (where status = 'held'), 0) as held,
            count(*) filter (where status = 'held' and expires_at <= now()) as overdue,
            count(*) filter (where status = 'expired') as expired,
            (select coalesce(-sum(amount), 0) from credit_ledger
             where tenant_id = ${tenant.tenantId} and type = 'consume') as consumed
          from credit_reservations where tenant_id = ${tenant.tenantId}`,
    );
    const n = (key: string) => Number(counts?.[key] ?? 0);
    expect(n('overdue')).toBe(0);
    expect(n('expired')).toBe(held.filter((entry) => entry.shortLived).length);
    expect(state.balance).toBe(granted - n('consumed') - n('captured') - n('held'));
    expect(state.in_lots).toBe(state.balance);
  }, 180_000);
});
