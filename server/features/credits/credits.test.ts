import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { selectRows } from '../../../db/client.ts';
import { memberships, roleAssignments } from '../../../db/schema/index.ts';
import { withTenant } from '../../../db/tenant.ts';
import {
  auditEntriesOf,
  chainVerifies,
  type SignedUp,
  startTestApp,
  type TestApp,
} from '../../testing/harness.ts';
import { builtInRoles } from '../access/permissions.ts';
import { canonical, contentOf } from '../audit/chain.ts';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.dispose());

const grant = (tenant: SignedUp, body: Record<string, unknown>) =>
  app.request('POST', '/v1/credits/grants', { token: tenant.token, body });

const consume = (token: string, body: unknown, key?: string) =>
  app.request('POST', '/v1/credits/consume', {
    token,
    body,
    headers: key === undefined ? {} : { 'idempotency-key': key },
  });

/** The raw bytes of a consume answer, to compare replays byte for byte. */
async function consumeRaw(token: string, body: unknown, key: string) {
  const payload = JSON.stringify(body);
  const response = await app.handle(
    new Request('http://localhost/v1/credits/consume', {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'content-length': String(payload.length),
        'idempotency-key': key,
      },
      body: payload,
    }),
  );
  return { status: response.status, headers: response.headers, text: await response.text() };
}

async function ledgerSum(tenantId: string): Promise<{ sum: number; balance: number; consumes: number }> {
  const [row] = await selectRows<{ sum: string; balance: string; consumes: string }>(
    app.database.owner,
    sql`select coalesce((select sum(amount) from credit_ledger where tenant_id = ${tenantId}), 0) as sum,
               coalesce((select balance from credit_balances where tenant_id = ${tenantId}), 0) as balance,
               (select count(*) from credit_ledger where tenant_id = ${tenantId} and type = 'consume') as consumes`,
  );
  return { sum: Number(row?.sum), balance: Number(row?.balance), consumes: Number(row?.consumes) };
}

describe('credits', () => {
  test('grant, consume, balance and the ledger newest first, each movement an event', async () => {
    const owner = await app.signUp();
    expect((await app.request('GET', '/v1/credits', { token: owner.token })).body).toMatchObject({
      balance: 0,
      lowBalanceThreshold: null,
    });
    const granted = await grant(owner, { amount: 500, reason: 'Welcome credits' });
    expect(granted.status).toBe(201);
    expect(granted.body).toMatchObject({
      balance: 500,
      transaction: { type: 'grant', amount: 500, balanceAfter: 500 },
    });
    const spent = await consume(
      owner.token,
      { amount: 120, reason: 'Report', metadata: { job: 'r-1' } },
      'job-r-1',
    );
    expect(spent.status).toBe(201);
    expect(spent.body).toMatchObject({
      balance: 380,
      transaction: {
        type: 'consume',
        amount: -120,
        balanceAfter: 380,
        reason: 'Report',
        metadata: { job: 'r-1' },
      },
    });
    expect((await app.request('GET', '/v1/credits', { token: owner.token })).body.balance).toBe(380);
    const ledger = await app.request('GET', '/v1/credits/transactions', { token: owner.token });
    expect(ledger.body.items.map((item: { type: string }) => item.type)).toEqual(['consume', 'grant']);
    const events = await app.request('GET', '/v1/events?types=credits.granted,credits.consumed', {
      token: owner.token,
    });
    expect(
      events.body.items.map((event: { type: string; data: { balance: number } }) => [
        event.type,
        event.data.balance,
      ]),
    ).toEqual([
      ['credits.granted', 500],
      ['credits.consumed', 380],
    ]);
  });

  test('the same key and body replay the first answer byte for byte; another body is a 409', async () => {
    const owner = await app.signUp();
    await grant(owner, { amount: 100, reason: 'Start' });
    const body = { amount: 30, reason: 'Export' };
    const first = await consumeRaw(owner.token, body, 'export-42');
    const again = await consumeRaw(owner.token, body, 'export-42');
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.text).toBe(first.text);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect((await app.request('GET', '/v1/credits', { token: owner.token })).body.balance).toBe(70);
    const other = await consume(owner.token, { amount: 31, reason: 'Export' }, 'export-42');
    expect(other.status).toBe(409);
    expect(other.body.type).toBe('/problems/idempotency-key-reused');
    expect((await ledgerSum(owner.tenantId)).consumes).toBe(1);
  });

  test('over the balance: 402 insufficient-credits with the balance, remembered for the key', async () => {
    const owner = await app.signUp();
    await grant(owner, { amount: 10, reason: 'Start' });
    const refused = await consumeRaw(owner.token, { amount: 11, reason: 'Too much' }, 'big-1');
    expect(refused.status).toBe(402);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(JSON.parse(refused.text)).toMatchObject({
      type: '/problems/insufficient-credits',
      status: 402,
      balance: 10,
    });
    await grant(owner, { amount: 100, reason: 'Top-up' });
    // The key keeps its first answer, even though the balance would allow it now.
    expect((await consumeRaw(owner.token, { amount: 11, reason: 'Too much' }, 'big-1')).text).toBe(
      refused.text,
    );
    expect((await consume(owner.token, { amount: 11, reason: 'Too much' }, 'big-2')).status).toBe(201);
  });

  test('falling below the threshold publishes credits.low_balance once per crossing', async () => {
    const owner = await app.signUp();
    await grant(owner, { amount: 100, reason: 'Start' });
    const set = await app.request('PUT', '/v1/credits/low-balance-threshold', {
      token: owner.token,
      body: { threshold: 50 },
    });
    expect(set.body).toEqual({ balance: 100, lowBalanceThreshold: 50 });
    for (const [index, amount] of [30, 30, 10].entries()) {
      expect((await consume(owner.token, { amount, reason: 'use' }, `low-${index}`)).status).toBe(201);
    }
    const alerts = async () =>
      (await app.request('GET', '/v1/events?types=credits.low_balance', { token: owner.token })).body.items;
    expect((await alerts()).map((event: { data: unknown }) => event.data)).toEqual([
      { balance: 40, threshold: 50 },
    ]);
    // Back above re-arms it; the next fall alerts again.
    await grant(owner, { amount: 100, reason: 'Top-up' });
    await consume(owner.token, { amount: 120, reason: 'use' }, 'low-again');
    expect((await alerts()).map((event: { data: { balance: number } }) => event.data.balance)).toEqual([
      40, 10,
    ]);
    const bad = await app.request('PUT', '/v1/credits/low-balance-threshold', {
      token: owner.token,
      body: { threshold: -1 },
    });
    expect(bad.status).toBe(422);
  });

  test('expired credits are written off: only what was left of the lot, never what was spent', async () => {
    const owner = await app.signUp();
    await grant(owner, { amount: 100, reason: 'Forever' });
    await grant(owner, { amount: 40, reason: 'Short', expiresAt: new Date(Date.now() + 1500).toISOString() });
    // 25 come out of the short-lived lot first.
    expect((await consume(owner.token, { amount: 25, reason: 'Use' }, 'exp-1')).status).toBe(201);
    await Bun.sleep(1600);
    const read = await app.request('GET', '/v1/credits', { token: owner.token });
    expect(read.body.balance).toBe(100);
    const ledger = await app.request('GET', '/v1/credits/transactions', { token: owner.token });
    expect(ledger.body.items[0]).toMatchObject({ type: 'expire', amount: -15, balanceAfter: 100 });
    const totals = await ledgerSum(owner.tenantId);
    expect(totals.sum).toBe(totals.balance);
    // Written off once: reading again changes nothing.
    await app.request('GET', '/v1/credits', { token: owner.token });
    expect(
      (await app.request('GET', '/v1/credits/transactions', { token: owner.token })).body.items,
    ).toHaveLength(ledger.body.items.length);
    const expiredEvents = await app.request('GET', '/v1/events?types=credits.expired', {
      token: owner.token,
    });
    expect(expiredEvents.body.items).toHaveLength(1);
  });

  test('reservations: held out of the balance, captured in part (the rest comes back), or released', async () => {
    const owner = await app.signUp();
    await grant(owner, { amount: 100, reason: 'Start' });
    const reserve = (body: Record<string, unknown>, key: string) =>
      app.request('POST', '/v1/credits/reservations', {
        token: owner.token,
        body,
        headers: { 'idempotency-key': key },
      });
    const held = await reserve({ amount: 40, reason: 'Transcription' }, 'res-1');
    expect(held.status).toBe(201);
    expect(held.body).toMatchObject({
      balance: 60,
      reservation: { amount: 40, status: 'held', captured: 0 },
    });
    const id = held.body.reservation.id;
    expect((await consume(owner.token, { amount: 61, reason: 'Too much now' }, 'res-c')).status).toBe(402);
    const captured = await app.request('POST', `/v1/credits/reservations/${id}/capture`, {
      token: owner.token,
      body: { amount: 25 },
    });
    expect(captured.status).toBe(200);
    expect(captured.body).toMatchObject({ balance: 75, reservation: { status: 'captured', captured: 25 } });
    const twice = await app.request('POST', `/v1/credits/reservations/${id}/release`, { token: owner.token });
    expect(twice.status).toBe(409);
    expect(twice.body).toMatchObject({
      type: '/problems/reservation-settled',
      reservationStatus: 'captured',
    });

    const other = await reserve({ amount: 30, reason: 'Maybe' }, 'res-2');
    const tooMuch = await app.request(
      'POST',
      `/v1/credits/reservations/${other.body.reservation.id}/capture`,
      {
        token: owner.token,
        body: { amount: 31 },
      },
    );
    expect(tooMuch.status).toBe(422);
    const released = await app.request(
      'POST',
      `/v1/credits/reservations/${other.body.reservation.id}/release`,
      {
        token: owner.token,
      },
    );
    expect(released.body).toMatchObject({ balance: 75, reservation: { status: 'released' } });
    expect((await reserve({ amount: 500, reason: 'Huge' }, 'res-3')).status).toBe(402);
    const totals = await ledgerSum(owner.tenantId);
    expect(totals).toMatchObject({ balance: 75, sum: 75 });
    // Another tenant cannot see or settle them.
    const stranger = await app.signUp();
    for (const [method, path] of [
      ['GET', `/v1/credits/reservations/${id}`],
      ['POST', `/v1/credits/reservations/${other.body.reservation.id}/release`],
    ] as const) {
      expect((await app.request(method, path, { token: stranger.token })).status).toBe(404);
    }
  });

  test('a reservation not settled in time is released on its own', async () => {
    const owner = await app.signUp();
    await grant(owner, { amount: 50, reason: 'Start' });
    const held = await app.request('POST', '/v1/credits/reservations', {
      token: owner.token,
      body: { amount: 20, reason: 'Short job', ttlSeconds: 1 },
      headers: { 'idempotency-key': 'short-1' },
    });
    expect(held.body.balance).toBe(30);
    await Bun.sleep(1200);
    expect((await app.request('GET', '/v1/credits', { token: owner.token })).body.balance).toBe(50);
    const reservation = await app.request('GET', `/v1/credits/reservations/${held.body.reservation.id}`, {
      token: owner.token,
    });
    expect(reservation.body.status).toBe('expired');
    const late = await app.request('POST', `/v1/credits/reservations/${held.body.reservation.id}/capture`, {
      token: owner.token,
      body: { amount: 5 },
    });
    expect(late.status).toBe(409);
    expect((await ledgerSum(owner.tenantId)).sum).toBe(50);
    // Released by the system, and recorded so: once.
    const expired = (await auditEntriesOf(app.database, owner.tenantId)).filter(
      (entry) => entry.action === 'credits.reservation_expired',
    );
    expect(expired).toEqual([
      expect.objectContaining({
        actorType: 'system',
        actorId: 'credits.reservations',
        targets: [{ type: 'credit_reservation', id: held.body.reservation.id, name: 'Short job' }],
      }),
    ]);
  });

  test('reservations racing captures, releases and consumes never overdraw', async () => {
    const owner = await app.signUp();
    await grant(owner, { amount: 300, reason: 'Pool' });
    const reservations = await Promise.all(
      Array.from({ length: 30 }, (_, index) =>
        app.request('POST', '/v1/credits/reservations', {
          token: owner.token,
          body: { amount: 5 + (index % 7), reason: `job ${index}` },
          headers: { 'idempotency-key': `race-${index}` },
        }),
      ),
    );
    const ids = reservations.filter((r) => r.status === 201).map((r) => r.body.reservation.id as string);
    await Promise.all([
      ...ids.map((id, index) =>
        index % 2 === 0
          ? app.request('POST', `/v1/credits/reservations/${id}/capture`, {
              token: owner.token,
              body: { amount: 3 },
            })
          : app.request('POST', `/v1/credits/reservations/${id}/release`, { token: owner.token }),
      ),
      ...Array.from({ length: 20 }, (_, index) =>
        consume(owner.token, { amount: 7, reason: `direct ${index}` }, `direct-${index}`),
      ),
    ]);
    const totals = await ledgerSum(owner.tenantId);
    expect(totals.balance).toBeGreaterThanOrEqual(0);
    expect(totals.sum).toBe(totals.balance);
  }, 60_000);

  test('soonest-expiring credits are spent first; never-expiring last', async () => {
    const owner = await app.signUp();
    await grant(owner, { amount: 100, reason: 'Forever' });
    await grant(owner, {
      amount: 40,
      reason: 'Later',
      expiresAt: new Date(Date.now() + 7 * 86_400_000).toISOString(),
    });
    await grant(owner, {
      amount: 30,
      reason: 'Soon',
      expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
    });
    expect((await consume(owner.token, { amount: 50, reason: 'Use' }, 'use-1')).status).toBe(201);
    const lots = await selectRows<{ amount: string; remaining: string }>(
      app.database.owner,
      sql`select amount, remaining from credit_lots where tenant_id = ${owner.tenantId} order by expires_at asc nulls last`,
    );
    expect(lots.map((lot) => [Number(lot.amount), Number(lot.remaining)])).toEqual([
      [30, 0],
      [40, 20],
      [100, 100],
    ]);
  });

  test('bad input: amounts, key, reason, metadata, extra fields', async () => {
    const owner = await app.signUp();
    await grant(owner, { amount: 100, reason: 'Start' });
    const missingKey = await consume(owner.token, { amount: 1, reason: 'x' });
    expect(missingKey.status).toBe(400);
    expect(missingKey.body.type).toBe('/problems/idempotency-key-required');
    expect((await consume(owner.token, { amount: 1, reason: 'x' }, 'has space')).status).toBe(422);
    for (const body of [
      { amount: 0, reason: 'x' },
      { amount: -5, reason: 'x' },
      { amount: 1.5, reason: 'x' },
      { amount: 1e15, reason: 'x' },
      { amount: '5', reason: 'x' },
      { amount: 5 },
      { amount: 5, reason: '   ' },
      { amount: 5, reason: 'x', extra: true },
      { amount: 5, reason: 'x', metadata: { blob: 'y'.repeat(5000) } },
    ]) {
      const response = await consume(owner.token, body, `bad-${crypto.randomUUID()}`);
      expect({ body, status: response.status, type: response.body.type }).toEqual({
        body,
        status: 422,
        type: '/problems/validation-failed',
      });
    }
    expect((await grant(owner, { amount: 5, reason: 'x', expiresAt: '2001-01-01T00:00:00Z' })).status).toBe(
      422,
    );
    expect((await ledgerSum(owner.tenantId)).balance).toBe(100);
  });

  test('permissions: a viewer reads but neither spends nor grants; a member spends', async () => {
    const owner = await app.signUp();
    await grant(owner, { amount: 100, reason: 'Start' });
    const tokens: Record<string, string> = {};
    for (const role of ['viewer', 'member'] as const) {
      const person = await app.signUp();
      await withTenant(app.database, owner.tenantId, async (db) => {
        await db.insert(memberships).values({ tenantId: owner.tenantId, userId: person.userId });
        await db
          .insert(roleAssignments)
          .values({ tenantId: owner.tenantId, userId: person.userId, roleId: builtInRoles[role].id });
      });
      const login = await app.request('POST', '/v1/auth/login', {
        body: { email: person.email, password: person.password, tenantId: owner.tenantId },
      });
      tokens[role] = login.body.accessToken;
    }
    expect((await app.request('GET', '/v1/credits', { token: tokens.viewer })).body.balance).toBe(100);
    expect((await consume(tokens.viewer ?? '', { amount: 1, reason: 'x' }, 'v-1')).status).toBe(403);
    expect(
      (
        await app.request('POST', '/v1/credits/grants', {
          token: tokens.member,
          body: { amount: 1, reason: 'x' },
        })
      ).status,
    ).toBe(403);
    expect((await consume(tokens.member ?? '', { amount: 1, reason: 'x' }, 'm-1')).status).toBe(201);
  });

  test('cross-tenant: balances, ledgers and idempotency keys are per tenant', async () => {
    const a = await app.signUp();
    const b = await app.signUp();
    await grant(a, { amount: 100, reason: 'A' });
    await grant(b, { amount: 5, reason: 'B' });
    expect((await consume(a.token, { amount: 10, reason: 'same key' }, 'shared-key')).status).toBe(201);
    // The same key in another tenant is another operation.
    const inB = await consume(b.token, { amount: 10, reason: 'same key' }, 'shared-key');
    expect(inB.status).toBe(402);
    expect(inB.body.balance).toBe(5);
    const ledgerB = await app.request('GET', '/v1/credits/transactions', { token: b.token });
    expect(ledgerB.body.items).toHaveLength(1);
    expect((await app.request('GET', '/v1/credits', { token: a.token })).body.balance).toBe(90);
    // The ledger cannot be rewritten by a request role.
    await expect(
      withTenant(app.database, a.tenantId, (db) => db.execute(sql`update credit_ledger set amount = 0`)),
    ).rejects.toThrow();
    await expect(
      withTenant(app.database, a.tenantId, (db) => db.execute(sql`delete from credit_ledger`)),
    ).rejects.toThrow();
  });

  test("consume_credits() answers in one statement what the service would, and only inside the caller's tenant", async () => {
    const a = await app.signUp();
    const b = await app.signUp();
    await grant(a, { amount: 50, reason: 'A' });
    await grant(b, { amount: 50, reason: 'B' });
    // The audit entry's content with the marker where the ledger entry's id goes (as spendCredits does).
    const auditContent = (tenantId: string) => ({
      id: Bun.randomUUIDv7(),
      tenantId,
      occurredAt: new Date().toISOString(),
      action: 'credits.consumed' as const,
      actor: { type: 'system' as const, id: 'test', name: null },
      targets: [{ type: 'credit_transaction', id: 'MARKi', name: null }],
      context: { requestId: null, ip: null, userAgent: null },
      changes: {},
      metadata: { amount: 20, reason: 'direct' },
      outcome: 'success' as const,
    });
    const call = (tenantId: string, key: string, amount: number) => {
      const audit = auditContent(tenantId);
      return withTenant(app.database, a.tenantId, (db) =>
        selectRows<{ status: number; body: string | null; replayed: boolean }>(
          db,
          sql`select * from consume_credits(${tenantId}::uuid, ${amount}::bigint, 'direct', '{"k":1}'::jsonb,
                '{"type":"system"}'::jsonb, ${key}, 'hash-1', ${Bun.randomUUIDv7()}::uuid,
                ${Bun.randomUUIDv7()}::uuid, 'MARK', ${'{"id":"MARKi","at":"MARKt","balance":"MARKb"}'},
                ${'{"detail":"balance MARKb","balance":"MARKb"}'}, ${audit.id}::uuid,
                ${audit.occurredAt}::timestamptz, ${JSON.stringify(audit.actor)}::jsonb,
                ${JSON.stringify(audit.context)}::jsonb, ${JSON.stringify(audit.metadata)}::jsonb,
                ${canonical(contentOf(audit))})`,
        ),
      );
    };
    const [spent] = await call(a.tenantId, 'direct-1', 20);
    expect(spent?.status).toBe(201);
    const body = JSON.parse(spent?.body ?? '{}');
    expect(body.balance).toBe(30);
    const [entry] = await selectRows<{ id: string; created_at: Date }>(
      app.database.owner,
      sql`select id, created_at from credit_ledger where tenant_id = ${a.tenantId} and type = 'consume'`,
    );
    expect(body.id).toBe(entry?.id);
    expect(new Date(body.at).getTime()).toBe(new Date(entry?.created_at ?? 0).getTime());
    // The entry's UUIDv7 carries the time it was taken.
    expect(Number.parseInt(body.id.replaceAll('-', '').slice(0, 12), 16)).toBe(new Date(body.at).getTime());
    // The same statement appended the audit entry, naming the ledger entry; its link verifies.
    const recorded = (await auditEntriesOf(app.database, a.tenantId)).filter(
      (row) => row.action === 'credits.consumed',
    );
    expect(recorded).toHaveLength(1);
    expect(recorded[0]?.targets).toEqual([{ type: 'credit_transaction', id: entry?.id, name: null }]);
    expect(await chainVerifies(app.database, a.tenantId)).toBe(true);
    expect((await call(a.tenantId, 'direct-1', 20))[0]).toEqual({ ...spent, replayed: true } as never);
    const [refused] = await call(a.tenantId, 'direct-2', 31);
    expect(refused).toEqual({ status: 402, body: '{"detail":"balance 30","balance":30}', replayed: false });
    // Naming another tenant does not reach it: row-level security refuses the write.
    await expect(call(b.tenantId, 'direct-3', 1)).rejects.toThrow();
    expect((await app.request('GET', '/v1/credits', { token: b.token })).body.balance).toBe(50);
  });

  test('concurrent consumes never overdraw; every success has one ledger entry; replays return the first answer', async () => {
    const owner = await app.signUp();
    await grant(owner, { amount: 1000, reason: 'Pool' });
    // 120 operations, 30 of them sent twice (a client retrying), all at once.
    const requests = Array.from({ length: 150 }, (_, index) => {
      const operation = index % 120;
      return {
        key: `c-${operation}`,
        body: { amount: 1 + ((operation * 37) % 23), reason: `job ${operation}` },
      };
    });
    const answers = await Promise.all(
      requests.map(async ({ key, body }) => ({ key, ...(await consumeRaw(owner.token, body, key)) })),
    );
    const byKey = new Map<string, string[]>();
    for (const answer of answers) byKey.set(answer.key, [...(byKey.get(answer.key) ?? []), answer.text]);
    // A repeated key always got the first answer back.
    for (const texts of byKey.values()) expect(new Set(texts).size).toBe(1);
    const successes = [...byKey.values()].filter((texts) => JSON.parse(texts[0] ?? '{}').transaction).length;
    const totals = await ledgerSum(owner.tenantId);
    expect(totals.balance).toBeGreaterThanOrEqual(0);
    expect(totals.sum).toBe(totals.balance);
    expect(totals.consumes).toBe(successes);
    expect(answers.every((answer) => answer.status === 201 || answer.status === 402)).toBe(true);
  }, 60_000);
});
