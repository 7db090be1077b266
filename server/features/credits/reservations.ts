import { and, eq, lte, sql } from 'drizzle-orm';
import { inOrder, type ScopedDb } from '../../../db/client.ts';
import { creditLedger, creditLots, creditReservations } from '../../../db/schema/index.ts';
import { publish } from '../../../realtime/publish.ts';
import { AppError, problemType } from '../../errors.ts';
import type { Actor } from '../../plugins/authentication.ts';
import { recordAudit, systemWho, target } from '../audit/record.ts';
import type { CreditTransactionModel } from '../shared-model.ts';
import type { CreatedReservationModel, ReservationModel, SettledReservationModel } from './model.ts';
import {
  actorJson,
  drawFromLots,
  earlierAnswer,
  lockBalance,
  remember,
  type StoredAnswer,
  storeBalance,
  toTransaction,
} from './service.ts';

type ReservationRow = typeof creditReservations.$inferSelect;

const toReservation = (row: ReservationRow): ReservationModel => ({
  id: row.id,
  amount: row.amount,
  captured: row.captured,
  status: row.status,
  reason: row.reason,
  metadata: row.metadata as Record<string, unknown>,
  expiresAt: row.expiresAt.toISOString(),
  createdAt: row.createdAt.toISOString(),
  settledAt: row.settledAt?.toISOString() ?? null,
});

async function ledgerEntry(
  db: ScopedDb,
  values: Omit<typeof creditLedger.$inferInsert, 'metadata'> & { metadata?: Record<string, unknown> },
): Promise<CreditTransactionModel> {
  const [entry] = await db
    .insert(creditLedger)
    .values({ metadata: {}, ...values })
    .returning();
  if (!entry) throw new Error('insert returned no ledger entry');
  return toTransaction(entry);
}

/**
 * Gives back what a reservation did not capture: a `release` entry and a lot that expires when the
 * credits it held would have. Runs under the balance lock; answers the balance after.
 */
async function releaseRemainder(
  db: ScopedDb,
  reservation: ReservationRow,
  balance: number,
  status: 'captured' | 'released' | 'expired',
  actor: Record<string, unknown>,
): Promise<{ balance: number; transaction: CreditTransactionModel | null }> {
  const rest = reservation.amount - reservation.captured;
  await db
    .update(creditReservations)
    .set({ status, settledAt: new Date() })
    .where(eq(creditReservations.id, reservation.id));
  if (rest === 0) return { balance, transaction: null };
  const [lot] = await db
    .insert(creditLots)
    .values({
      tenantId: reservation.tenantId,
      source: 'adjust',
      amount: rest,
      remaining: rest,
      expiresAt: reservation.creditsExpireAt,
    })
    .returning({ id: creditLots.id });
  const after = balance + rest;
  const transaction = await ledgerEntry(db, {
    tenantId: reservation.tenantId,
    type: 'release',
    amount: rest,
    balanceAfter: after,
    lotId: lot?.id ?? null,
    reason: status === 'expired' ? 'Reservation expired' : `Released from: ${reservation.reason}`,
    actor,
  });
  await publish(db, 'credits.released', { reservationId: reservation.id, transaction, balance: after });
  return { balance: after, transaction };
}

/** Releases every held reservation past its expiry (under the balance lock); answers the new balance. */
export async function expireReservations(db: ScopedDb, tenantId: string, balance: number): Promise<number> {
  const due = await db
    .select()
    .from(creditReservations)
    .where(
      and(
        eq(creditReservations.tenantId, tenantId),
        eq(creditReservations.status, 'held'),
        lte(creditReservations.expiresAt, sql`now()`),
      ),
    )
    .for('update');
  let current = balance;
  for (const reservation of due) {
    const released = await releaseRemainder(db, reservation, current, 'expired', { type: 'system' });
    await recordAudit(db, tenantId, systemWho('credits.reservations'), {
      action: 'credits.reservation_expired',
      targets: [target('credit_reservation', reservation.id, reservation.reason)],
      changes: { status: ['held', 'expired'] },
      metadata: { released: released.balance - current, balanceAfter: released.balance },
    });
    current = released.balance;
  }
  return current;
}

/** Holds credits for metered work: out of the spendable balance now, captured or released later. */
export async function reserveCredits(
  db: ScopedDb,
  input: {
    actor: Actor;
    amount: number;
    reason: string;
    metadata: Record<string, unknown>;
    ttlSeconds: number;
    key: string;
    requestHash: string;
    requestId: string;
  },
): Promise<StoredAnswer> {
  const tenantId = input.actor.tenantId;
  const locked = await lockBalance(db, tenantId);
  const earlier = await earlierAnswer(db, { tenantId, key: input.key, requestHash: input.requestHash });
  if (earlier) return earlier;
  if (locked.balance < input.amount) {
    const problem = {
      type: problemType('insufficient-credits'),
      title: 'Not enough credits',
      status: 402,
      detail: `This needs ${input.amount} credits; the balance is ${locked.balance}.`,
      balance: locked.balance,
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
  const creditsExpireAt = await drawFromLots(db, tenantId, input.amount);
  const [row] = await db
    .insert(creditReservations)
    .values({
      tenantId,
      amount: input.amount,
      reason: input.reason,
      metadata: input.metadata,
      creditsExpireAt,
      expiresAt: new Date(Date.now() + input.ttlSeconds * 1000),
    })
    .returning();
  if (!row) throw new Error('insert returned no reservation');
  const balance = locked.balance - input.amount;
  const transaction = await ledgerEntry(db, {
    tenantId,
    type: 'reserve',
    amount: -input.amount,
    balanceAfter: balance,
    reason: input.reason,
    metadata: { ...input.metadata, reservationId: row.id },
    actor: actorJson(input.actor),
    idempotencyKey: input.key,
  });
  await inOrder(
    () => publish(db, 'credits.reserved', { reservationId: row.id, transaction, balance }),
    () =>
      recordAudit(db, tenantId, input.actor.who, {
        action: 'credits.reserved',
        targets: [target('credit_reservation', row.id, row.reason)],
        metadata: { amount: input.amount, expiresAt: row.expiresAt.toISOString(), balanceAfter: balance },
      }),
  );
  await storeBalance(db, tenantId, locked, balance);
  return remember(
    db,
    { tenantId, key: input.key, requestHash: input.requestHash },
    {
      status: 201,
      body: JSON.stringify({
        reservation: toReservation(row),
        transaction,
        balance,
      } satisfies CreatedReservationModel),
    },
  );
}

async function heldReservation(db: ScopedDb, id: string): Promise<ReservationRow> {
  const [row] = await db.select().from(creditReservations).where(eq(creditReservations.id, id)).for('update');
  if (!row) throw new AppError('not-found', 'No such reservation.');
  if (row.status !== 'held') {
    throw new AppError('reservation-settled', `The reservation is already ${row.status}.`, {
      reservationStatus: row.status,
    });
  }
  return row;
}

/** Spends `amount` (at most what is held) of a reservation and gives the rest back. */
export async function captureReservation(
  db: ScopedDb,
  input: { actor: Actor; id: string; amount: number },
): Promise<SettledReservationModel> {
  const tenantId = input.actor.tenantId;
  const locked = await lockBalance(db, tenantId);
  const reservation = await heldReservation(db, input.id);
  if (input.amount > reservation.amount) {
    throw new AppError('validation-failed', `At most ${reservation.amount} credits are held.`, {
      errors: [{ path: '/amount', message: `At most ${reservation.amount}` }],
    });
  }
  const captured = { ...reservation, captured: input.amount };
  await db
    .update(creditReservations)
    .set({ captured: input.amount })
    .where(eq(creditReservations.id, input.id));
  const capture = await ledgerEntry(db, {
    tenantId,
    type: 'capture',
    amount: 0,
    balanceAfter: locked.balance,
    reason: reservation.reason,
    metadata: { reservationId: reservation.id, captured: input.amount },
    actor: actorJson(input.actor),
  });
  await publish(db, 'credits.captured', {
    reservationId: reservation.id,
    captured: input.amount,
    transaction: capture,
    balance: locked.balance,
  });
  const { balance } = await releaseRemainder(
    db,
    captured,
    locked.balance,
    'captured',
    actorJson(input.actor),
  );
  await inOrder(
    () => storeBalance(db, tenantId, locked, balance),
    () =>
      recordAudit(db, tenantId, input.actor.who, {
        action: 'credits.reservation_captured',
        targets: [target('credit_reservation', reservation.id, reservation.reason)],
        changes: { status: ['held', 'captured'] },
        metadata: {
          captured: input.amount,
          released: reservation.amount - input.amount,
          balanceAfter: balance,
        },
      }),
  );
  const [row] = await db.select().from(creditReservations).where(eq(creditReservations.id, input.id));
  if (!row) throw new Error('the reservation vanished');
  return { reservation: toReservation(row), balance };
}

/** Gives back everything a reservation holds. */
export async function releaseReservation(
  db: ScopedDb,
  input: { actor: Actor; id: string },
): Promise<SettledReservationModel> {
  const tenantId = input.actor.tenantId;
  const locked = await lockBalance(db, tenantId);
  const reservation = await heldReservation(db, input.id);
  const { balance } = await releaseRemainder(
    db,
    reservation,
    locked.balance,
    'released',
    actorJson(input.actor),
  );
  await inOrder(
    () => storeBalance(db, tenantId, locked, balance),
    () =>
      recordAudit(db, tenantId, input.actor.who, {
        action: 'credits.reservation_released',
        targets: [target('credit_reservation', reservation.id, reservation.reason)],
        changes: { status: ['held', 'released'] },
        metadata: { released: reservation.amount - reservation.captured, balanceAfter: balance },
      }),
  );
  const [row] = await db.select().from(creditReservations).where(eq(creditReservations.id, input.id));
  if (!row) throw new Error('the reservation vanished');
  return { reservation: toReservation(row), balance };
}

export async function readReservation(db: ScopedDb, tenantId: string, id: string): Promise<ReservationModel> {
  await lockBalance(db, tenantId);
  const [row] = await db.select().from(creditReservations).where(eq(creditReservations.id, id));
  if (!row) throw new AppError('not-found', 'No such reservation.');
  return toReservation(row);
}
