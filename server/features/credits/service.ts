import { and, desc, eq, lt, sql } from 'drizzle-orm';
import { type Database, defineStatement, inOrder, type ScopedDb, selectRows } from '../../../db/client.ts';
import { creditBalances, creditLedger, creditLots, idempotencyKeys } from '../../../db/schema/index.ts';
import { runInTenant, withTenant } from '../../../db/tenant.ts';
import { publish } from '../../../realtime/publish.ts';
import { AppError, problemType } from '../../errors.ts';
import type { Actor } from '../../plugins/authentication.ts';
import { canonical, contentOf } from '../audit/chain.ts';
import { type AuditWho, changesOf, recordAudit, systemWho, target } from '../audit/record.ts';
import type { CreditMovementModel, CreditTransactionModel } from '../shared-model.ts';
import type { CreditBalanceModel, CreditTransactionPage } from './model.ts';
import { expireReservations } from './reservations.ts';

type LedgerRow = typeof creditLedger.$inferSelect;

export const toTransaction = (row: LedgerRow): CreditTransactionModel => ({
  id: row.id,
  type: row.type,
  amount: row.amount,
  balanceAfter: row.balanceAfter,
  reason: row.reason,
  metadata: row.metadata as Record<string, unknown>,
  createdAt: row.createdAt.toISOString(),
});

export const actorJson = (actor: Actor) =>
  actor.apiKeyId
    ? { type: 'api_key', id: actor.apiKeyId, userId: actor.userId }
    : { type: 'user', id: actor.userId };

/** A stored answer, replayed byte for byte. */
export interface StoredAnswer {
  status: number;
  body: string;
  replayed: boolean;
}

/**
 * Locks the tenant's balance row (creating it at 0 the first time): every movement of one tenant goes
 * through this lock, so movements serialise and the balance check cannot race.
 */
export async function lockBalance(
  db: ScopedDb,
  tenantId: string,
): Promise<{ balance: number; threshold: number | null; below: boolean }> {
  // One statement creates the row the first time and locks it every time (ON CONFLICT DO UPDATE locks).
  const [row] = await selectRows<{
    balance: string | number;
    low_balance_threshold: string | number | null;
    below_threshold: boolean;
    lots_due: boolean;
    reservations_due: boolean;
  }>(
    db,
    // …and says in the same answer whether any lot or reservation has expired and needs settling.
    sql`insert into credit_balances (tenant_id) values (${tenantId})
        on conflict (tenant_id) do update set tenant_id = excluded.tenant_id
        returning balance, low_balance_threshold, below_threshold,
          exists (select 1 from credit_lots
                  where tenant_id = ${tenantId} and remaining > 0 and expires_at <= now()) as lots_due,
          exists (select 1 from credit_reservations
                  where tenant_id = ${tenantId} and status = 'held' and expires_at <= now()) as reservations_due`,
  );
  const locked = {
    balance: Number(row?.balance ?? 0),
    threshold:
      row?.low_balance_threshold === null || row === undefined ? null : Number(row.low_balance_threshold),
    below: row?.below_threshold ?? false,
  };
  const afterLots = row?.lots_due ? await expireLots(db, tenantId, locked) : locked;
  if (!row?.reservations_due) return afterLots;
  const balance = await expireReservations(db, tenantId, afterLots.balance);
  if (balance === afterLots.balance) return afterLots;
  await storeBalance(db, tenantId, afterLots, balance);
  return { ...afterLots, balance, below: afterLots.threshold !== null && balance < afterLots.threshold };
}

/**
 * Writes off what is left of lots past their expiry, under the balance lock, before any movement or
 * read: an `expire` entry per lot for its remainder only (what was spent stays spent), and
 * `credits.expired`. The balance can only drop to what the other lots hold, never below zero.
 */
async function expireLots(
  db: ScopedDb,
  tenantId: string,
  locked: { balance: number; threshold: number | null; below: boolean },
): Promise<{ balance: number; threshold: number | null; below: boolean }> {
  const expired = await selectRows<{ id: string; remaining: string | number }>(
    db,
    sql`with gone as (
          select id, remaining from credit_lots
          where tenant_id = ${tenantId} and remaining > 0 and expires_at <= now()
          for update
        )
        update credit_lots l set remaining = 0 from gone where l.id = gone.id
        returning l.id, gone.remaining`,
  );
  if (expired.length === 0) return locked;
  let balance = locked.balance;
  for (const lot of expired) {
    const amount = Number(lot.remaining);
    balance -= amount;
    const [entry] = await db
      .insert(creditLedger)
      .values({
        tenantId,
        type: 'expire',
        amount: -amount,
        balanceAfter: balance,
        lotId: lot.id,
        reason: 'Credits expired',
        metadata: {},
        actor: { type: 'system' },
      })
      .returning();
    if (entry) {
      await inOrder(
        () => publish(db, 'credits.expired', { transaction: toTransaction(entry), balance }),
        () =>
          recordAudit(db, tenantId, systemWho('credits.expiry'), {
            action: 'credits.expired',
            targets: [target('credit_transaction', entry.id)],
            metadata: { amount, lotId: lot.id, balanceAfter: balance },
          }),
      );
    }
  }
  await storeBalance(db, tenantId, locked, balance);
  return { ...locked, balance, below: locked.threshold !== null && balance < locked.threshold };
}

/**
 * Writes the new balance and the threshold state: falling below the threshold publishes
 * `credits.low_balance` once; climbing back to it or above re-arms it.
 */
export async function storeBalance(
  db: ScopedDb,
  tenantId: string,
  locked: { threshold: number | null; below: boolean },
  balanceAfter: number,
): Promise<void> {
  const below = locked.threshold !== null && balanceAfter < locked.threshold;
  await db
    .update(creditBalances)
    .set({ balance: balanceAfter, belowThreshold: below, updatedAt: new Date() })
    .where(eq(creditBalances.tenantId, tenantId));
  if (below && !locked.below && locked.threshold !== null) {
    await publish(db, 'credits.low_balance', { balance: balanceAfter, threshold: locked.threshold });
  }
}

/** Sets (or clears, with null) the low-balance threshold; it applies from the next movement. */
export async function setLowBalanceThreshold(
  db: ScopedDb,
  tenantId: string,
  threshold: number | null,
  who: AuditWho,
): Promise<{ balance: number; lowBalanceThreshold: number | null }> {
  const locked = await lockBalance(db, tenantId);
  // Already below the new threshold counts as crossed: no alert for a level the tenant just chose.
  const below = threshold !== null && locked.balance < threshold;
  await db
    .update(creditBalances)
    .set({ lowBalanceThreshold: threshold, belowThreshold: below, updatedAt: new Date() })
    .where(eq(creditBalances.tenantId, tenantId));
  await inOrder(
    () =>
      publish(db, 'credits.threshold_updated', { lowBalanceThreshold: threshold, balance: locked.balance }),
    () =>
      recordAudit(db, tenantId, who, {
        action: 'credits.low_balance_threshold_set',
        targets: [target('tenant', tenantId)],
        changes: changesOf({ lowBalanceThreshold: locked.threshold }, { lowBalanceThreshold: threshold }),
      }),
  );
  return { balance: locked.balance, lowBalanceThreshold: threshold };
}

const keyReused = () =>
  new AppError(
    'idempotency-key-reused',
    'This Idempotency-Key was first used with another request; use a new key for a new request.',
  );

/** The answer already given to this key, if any; a different request under the same key is a conflict. */
export async function earlierAnswer(
  db: ScopedDb,
  input: { tenantId: string; key: string; requestHash: string },
): Promise<StoredAnswer | null> {
  const [stored] = await db
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.tenantId, input.tenantId), eq(idempotencyKeys.key, input.key)));
  if (!stored) return null;
  if (stored.requestHash !== input.requestHash) throw keyReused();
  return { status: stored.status, body: stored.responseBody, replayed: true };
}

export async function remember(
  db: ScopedDb,
  input: { tenantId: string; key: string | null; requestHash: string },
  answer: { status: number; body: string },
): Promise<StoredAnswer> {
  if (input.key) {
    await db.insert(idempotencyKeys).values({
      tenantId: input.tenantId,
      key: input.key,
      requestHash: input.requestHash,
      status: answer.status,
      responseBody: answer.body,
    });
  }
  return { ...answer, replayed: false };
}

interface ConsumeValues extends Record<string, unknown> {
  tenant: string;
  amount: number;
  reason: string;
  metadata: string;
  actor: string;
  key: string;
  requestHash: string;
  consumedEventId: string;
  lowBalanceEventId: string;
  marker: string;
  successTemplate: string;
  refusalTemplate: string;
  auditId: string;
  auditAt: string;
  auditActor: string;
  auditContext: string;
  auditMetadata: string;
  auditCanonical: string;
}

// consume_credits() (migration 0026) is the general path below in one statement: one round trip.
const consumeStatement = defineStatement<
  ConsumeValues,
  Array<{ status: number; body: string | null; replayed: boolean }>
>(
  'consume_credits',
  (db) =>
    db
      .select({
        status: sql<number>`c.status`,
        body: sql<string | null>`c.body`,
        replayed: sql<boolean>`c.replayed`,
      })
      .from(
        sql`consume_credits(${sql.placeholder('tenant')}::uuid, ${sql.placeholder('amount')}::bigint,
            ${sql.placeholder('reason')}::text, ${sql.placeholder('metadata')}::jsonb,
            ${sql.placeholder('actor')}::jsonb, ${sql.placeholder('key')}::text,
            ${sql.placeholder('requestHash')}::text, ${sql.placeholder('consumedEventId')}::uuid,
            ${sql.placeholder('lowBalanceEventId')}::uuid, ${sql.placeholder('marker')}::text,
            ${sql.placeholder('successTemplate')}::text, ${sql.placeholder('refusalTemplate')}::text,
            ${sql.placeholder('auditId')}::uuid, ${sql.placeholder('auditAt')}::timestamptz,
            ${sql.placeholder('auditActor')}::jsonb, ${sql.placeholder('auditContext')}::jsonb,
            ${sql.placeholder('auditMetadata')}::jsonb, ${sql.placeholder('auditCanonical')}::text) as c`,
      ),
  { publishes: true },
);

/**
 * `consumeCredits` as one request transaction of a single statement. The answers are written here as
 * templates; the database fills in the balance, the entry's id and time where a marker (random per
 * request, so no reason or metadata can contain it) stands. Expired credits to settle first send it
 * down the general path.
 */
export async function spendCredits(
  database: Database,
  input: {
    actor: Actor;
    amount: number;
    reason: string;
    metadata: Record<string, unknown>;
    key: string;
    requestHash: string;
    requestId: string;
  },
): Promise<StoredAnswer> {
  const marker = `wr${crypto.randomUUID().replaceAll('-', '')}`;
  const successTemplate = JSON.stringify({
    transaction: {
      id: `${marker}i`,
      type: 'consume',
      amount: -input.amount,
      balanceAfter: `${marker}b`,
      reason: input.reason,
      metadata: input.metadata,
      createdAt: `${marker}t`,
    },
    balance: `${marker}b`,
  });
  const refusalTemplate = JSON.stringify({
    type: problemType('insufficient-credits'),
    title: 'Not enough credits',
    status: 402,
    detail: `This needs ${input.amount} credits; the balance is ${marker}b.`,
    balance: `${marker}b`,
    requestId: input.requestId,
  });
  // The audit entry, but for the ledger entry's id (the database's, taken under the balance lock): its
  // canonical form (what the chain's digest covers) with the marker in that place.
  const audit = {
    id: Bun.randomUUIDv7(),
    tenantId: input.actor.tenantId,
    occurredAt: new Date().toISOString(),
    action: 'credits.consumed' as const,
    actor: input.actor.who.actor,
    targets: [target('credit_transaction', `${marker}i`)],
    context: input.actor.who.context,
    changes: {},
    metadata: consumedMetadata(input),
    outcome: 'success' as const,
  };
  const [row] = await runInTenant(database, input.actor, consumeStatement, {
    tenant: input.actor.tenantId,
    amount: input.amount,
    reason: input.reason,
    metadata: JSON.stringify(input.metadata),
    actor: JSON.stringify(actorJson(input.actor)),
    key: input.key,
    requestHash: input.requestHash,
    consumedEventId: Bun.randomUUIDv7(),
    lowBalanceEventId: Bun.randomUUIDv7(),
    marker,
    successTemplate,
    refusalTemplate,
    auditId: audit.id,
    auditAt: audit.occurredAt,
    auditActor: JSON.stringify(audit.actor),
    auditContext: JSON.stringify(audit.context),
    auditMetadata: JSON.stringify(audit.metadata),
    auditCanonical: canonical(contentOf(audit)),
  });
  if (!row || row.status === 0) return withTenant(database, input.actor, (db) => consumeCredits(db, input));
  if (row.status === 409) throw keyReused();
  return { status: row.status, body: row.body ?? '', replayed: row.replayed };
}

/** What the audit entry of a consumption says besides its ledger entry. */
const consumedMetadata = (input: { amount: number; reason: string }) => ({
  amount: input.amount,
  reason: input.reason,
});

/**
 * Spends credits: under the balance lock, refuses (402, remembered for the key like any answer) when the
 * balance is short, else takes from the soonest-expiring lots first, appends the ledger entry with the
 * balance after it and publishes `credits.consumed`, all in the caller's transaction. The answer's exact
 * bytes are stored with the key, so a retry gets them back.
 */
export async function consumeCredits(
  db: ScopedDb,
  input: {
    actor: Actor;
    amount: number;
    reason: string;
    metadata: Record<string, unknown>;
    key: string;
    requestHash: string;
    requestId: string;
  },
): Promise<StoredAnswer> {
  const tenantId = input.actor.tenantId;
  const locked = await lockBalance(db, tenantId);
  const { balance } = locked;
  const earlier = await earlierAnswer(db, { tenantId, key: input.key, requestHash: input.requestHash });
  if (earlier) return earlier;

  if (balance < input.amount) {
    const problem = {
      type: problemType('insufficient-credits'),
      title: 'Not enough credits',
      status: 402,
      detail: `This needs ${input.amount} credits; the balance is ${balance}.`,
      balance,
      requestId: input.requestId,
    };
    return remember(
      db,
      { tenantId, key: input.key, requestHash: input.requestHash },
      {
        status: 402,
        body: JSON.stringify(problem),
      },
    );
  }

  await drawFromLots(db, tenantId, input.amount);
  const movement = await recordMovement(
    db,
    locked,
    {
      tenantId,
      type: 'consume',
      amount: -input.amount,
      reason: input.reason,
      metadata: input.metadata,
      actor: actorJson(input.actor),
      idempotencyKey: input.key,
    },
    (moved) =>
      inOrder(
        () => publish(db, 'credits.consumed', moved),
        () =>
          recordAudit(db, tenantId, input.actor.who, {
            action: 'credits.consumed',
            targets: [target('credit_transaction', moved.transaction.id)],
            metadata: consumedMetadata(input),
          }),
      ),
  );
  return remember(
    db,
    { tenantId, key: input.key, requestHash: input.requestHash },
    {
      status: 201,
      body: JSON.stringify(movement),
    },
  );
}

/**
 * Takes `amount` from the tenant's spendable lots, soonest-expiring first (never-expiring last), under the
 * balance lock. Answers the soonest expiry among the lots it drew from (null if none expire).
 */
export async function drawFromLots(db: ScopedDb, tenantId: string, amount: number): Promise<Date | null> {
  let left = amount;
  let soonest: Date | null = null;
  const lots = await selectRows<{ id: string; remaining: string | number; expires_at: string | Date | null }>(
    db,
    sql`select id, remaining, expires_at from credit_lots
        where tenant_id = ${tenantId} and remaining > 0 and (expires_at is null or expires_at > now())
        order by expires_at asc nulls last, created_at asc
        for update`,
  );
  for (const lot of lots) {
    if (left === 0) break;
    const take = Math.min(left, Number(lot.remaining));
    await db
      .update(creditLots)
      .set({ remaining: sql`${creditLots.remaining} - ${take}` })
      .where(eq(creditLots.id, lot.id));
    if (lot.expires_at && soonest === null) soonest = new Date(lot.expires_at);
    left -= take;
  }
  // The balance and the lots move together; a difference is a bug, and it must not spend what is not there.
  if (left !== 0) throw new Error(`credit lots of tenant ${tenantId} hold less than its balance`);
  return soonest;
}

type LockedBalance = { balance: number; threshold: number | null; below: boolean };

/**
 * Records one movement under the balance lock: the ledger entry with the balance after it, its event
 * (published first, so a `credits.low_balance` it causes follows it), then the stored balance.
 */
async function recordMovement(
  db: ScopedDb,
  locked: LockedBalance,
  entry: {
    tenantId: string;
    type: (typeof creditLedger.$inferInsert)['type'];
    amount: number;
    lotId?: string | null;
    reason: string;
    metadata: Record<string, unknown>;
    actor: LedgerActor;
    idempotencyKey?: string;
  },
  announce: (movement: CreditMovementModel) => Promise<unknown>,
): Promise<CreditMovementModel> {
  const balance = locked.balance + entry.amount;
  const [row] = await db
    .insert(creditLedger)
    .values({ ...entry, balanceAfter: balance })
    .returning();
  if (!row) throw new Error('insert returned no ledger entry');
  const movement = { transaction: toTransaction(row), balance };
  await announce(movement);
  await storeBalance(db, entry.tenantId, locked, balance);
  return movement;
}

/** Who moved credits, as the ledger records it. */
export type LedgerActor =
  | ReturnType<typeof actorJson>
  | { type: 'platform_admin'; id: string }
  | { type: 'stripe'; eventId: string }
  | { type: 'system' };

/** Adds credits as a new lot (optionally expiring), with its ledger entry and `credits.granted`. */
export async function grantCredits(
  db: ScopedDb,
  input: {
    actor: Actor;
    amount: number;
    reason: string;
    expiresAt: Date | null;
    metadata: Record<string, unknown>;
  },
): Promise<{ transaction: CreditTransactionModel; balance: number }> {
  const tenantId = input.actor.tenantId;
  if (input.expiresAt && input.expiresAt <= new Date()) {
    throw new AppError('validation-failed', 'A grant cannot expire in the past.', {
      errors: [{ path: '/expiresAt', message: 'Must be in the future' }],
    });
  }
  const added = await addCredits(db, {
    tenantId: input.actor.tenantId,
    source: 'grant',
    amount: input.amount,
    reason: input.reason,
    expiresAt: input.expiresAt,
    metadata: input.metadata,
    actor: actorJson(input.actor),
  });
  if (!added) throw new Error('a grant without an external id cannot be a duplicate');
  await recordAudit(db, tenantId, input.actor.who, {
    action: 'credits.granted',
    targets: [target('credit_transaction', added.transaction.id)],
    metadata: {
      amount: input.amount,
      reason: input.reason,
      expiresAt: input.expiresAt?.toISOString() ?? null,
      balanceAfter: added.balance,
    },
  });
  return added;
}

/**
 * Adds credits as a new lot with its ledger entry and event, under the balance lock. With an
 * `externalId` (the Checkout session or invoice that paid for them) the same payment adds credits once:
 * a second attempt answers null and changes nothing.
 */
export async function addCredits(
  db: ScopedDb,
  input: {
    tenantId: string;
    source: 'grant' | 'allowance' | 'purchase' | 'adjust';
    amount: number;
    reason: string;
    expiresAt: Date | null;
    metadata: Record<string, unknown>;
    actor: LedgerActor;
    externalId?: string;
    /** Carried in `credits.purchased`. */
    creditPackId?: string;
  },
): Promise<CreditMovementModel | null> {
  const { tenantId } = input;
  const locked = await lockBalance(db, tenantId);
  const [lot] = await db
    .insert(creditLots)
    .values({
      tenantId,
      source: input.source,
      amount: input.amount,
      remaining: input.amount,
      expiresAt: input.expiresAt,
      externalId: input.externalId ?? null,
    })
    .onConflictDoNothing()
    .returning({ id: creditLots.id });
  if (!lot) return null;
  return recordMovement(
    db,
    locked,
    {
      tenantId,
      type: input.source === 'allowance' ? 'grant' : input.source,
      amount: input.amount,
      lotId: lot.id,
      reason: input.reason,
      metadata: input.metadata,
      actor: input.actor,
    },
    (moved) => {
      if (input.source === 'purchase') {
        return publish(db, 'credits.purchased', { ...moved, creditPackId: input.creditPackId ?? '' });
      }
      if (input.source === 'adjust') return publish(db, 'credits.adjusted', moved);
      // Grants by hand and plan allowances.
      return publish(db, 'credits.granted', { ...moved, expiresAt: input.expiresAt?.toISOString() ?? null });
    },
  );
}

/**
 * Takes credits away by hand (`adjust`): soonest-expiring lots first, like a consumption, and never
 * below zero — more than the balance is a 402 `insufficient-credits` with the balance.
 */
export async function removeCredits(
  db: ScopedDb,
  input: {
    tenantId: string;
    amount: number;
    reason: string;
    metadata: Record<string, unknown>;
    actor: LedgerActor;
  },
): Promise<CreditMovementModel> {
  const { tenantId } = input;
  const locked = await lockBalance(db, tenantId);
  if (locked.balance < input.amount) {
    throw new AppError(
      'insufficient-credits',
      `Removing ${input.amount} credits would leave the balance below zero; it is ${locked.balance}.`,
      { balance: locked.balance },
    );
  }
  await drawFromLots(db, tenantId, input.amount);
  return recordMovement(
    db,
    locked,
    {
      tenantId,
      type: 'adjust',
      amount: -input.amount,
      reason: input.reason,
      metadata: input.metadata,
      actor: input.actor,
    },
    (moved) => publish(db, 'credits.adjusted', moved),
  );
}

/**
 * Takes back what is left of a purchase's credits when it is refunded (what was already spent stays
 * spent): at most `credits` from that purchase's lot, as a `refund` entry. Answers null when nothing was
 * left to take.
 */
export async function refundPurchase(
  db: ScopedDb,
  input: {
    tenantId: string;
    lotId: string;
    credits: number;
    reason: string;
    metadata: Record<string, unknown>;
    actor: LedgerActor;
  },
): Promise<CreditMovementModel | null> {
  const { tenantId } = input;
  const locked = await lockBalance(db, tenantId);
  const [lot] = await selectRows<{ id: string; remaining: string | number }>(
    db,
    sql`select id, remaining from credit_lots
        where tenant_id = ${tenantId} and id = ${input.lotId} and source = 'purchase'
        for update`,
  );
  const take = lot ? Math.min(Number(lot.remaining), input.credits) : 0;
  if (!lot || take <= 0) return null;
  await db
    .update(creditLots)
    .set({ remaining: sql`${creditLots.remaining} - ${take}` })
    .where(eq(creditLots.id, lot.id));
  return recordMovement(
    db,
    locked,
    {
      tenantId,
      type: 'refund',
      amount: -take,
      lotId: lot.id,
      reason: input.reason,
      metadata: input.metadata,
      actor: input.actor,
    },
    (moved) => publish(db, 'credits.refunded', moved),
  );
}

export async function readBalance(db: ScopedDb, tenantId: string): Promise<CreditBalanceModel> {
  // Expired credits (or holds) are written off first, so the balance shown is the one that can be spent;
  // only then does a read take the balance lock (a plain read writes nothing).
  const [due] = await selectRows<{ due: boolean }>(
    db,
    sql`select exists (select 1 from credit_lots
                       where tenant_id = ${tenantId} and remaining > 0 and expires_at <= now())
            or exists (select 1 from credit_reservations
                       where tenant_id = ${tenantId} and status = 'held' and expires_at <= now()) as due`,
  );
  if (due?.due) await lockBalance(db, tenantId);
  const [row] = await db.select().from(creditBalances).where(eq(creditBalances.tenantId, tenantId));
  return {
    balance: row?.balance ?? 0,
    lowBalanceThreshold: row?.lowBalanceThreshold ?? null,
    updatedAt: row?.updatedAt.toISOString() ?? null,
  };
}

/** The ledger, newest first (ids are UUIDv7: id order is time order). */
export async function listTransactions(
  db: ScopedDb,
  options: { limit: number; cursor?: string },
): Promise<CreditTransactionPage> {
  const rows = await db
    .select()
    .from(creditLedger)
    .where(options.cursor ? lt(creditLedger.id, options.cursor) : undefined)
    .orderBy(desc(creditLedger.id))
    .limit(options.limit + 1);
  const page = rows.slice(0, options.limit);
  const last = page.at(-1);
  return { items: page.map(toTransaction), nextCursor: rows.length > options.limit && last ? last.id : null };
}
