import { t } from 'elysia';
import { CreditTransactionModel, Timestamp, Uuid } from '../shared-model.ts';

export const CreditBalanceModel = t.Object({
  balance: t.Integer(),
  lowBalanceThreshold: t.Union([t.Integer(), t.Null()]),
  updatedAt: t.Union([Timestamp, t.Null()]),
});
export type CreditBalanceModel = typeof CreditBalanceModel.static;

export const LowBalanceThresholdModel = t.Object({
  balance: t.Integer(),
  lowBalanceThreshold: t.Union([t.Integer(), t.Null()]),
});
export type LowBalanceThresholdModel = typeof LowBalanceThresholdModel.static;

export const CreditTransactionPage = t.Object({
  items: t.Array(CreditTransactionModel),
  nextCursor: t.Union([Uuid, t.Null()]),
});
export type CreditTransactionPage = typeof CreditTransactionPage.static;

export const ReservationModel = t.Object({
  id: Uuid,
  amount: t.Integer(),
  captured: t.Integer(),
  status: t.Union([t.Literal('held'), t.Literal('captured'), t.Literal('released'), t.Literal('expired')]),
  reason: t.String(),
  metadata: t.Record(t.String(), t.Unknown()),
  expiresAt: Timestamp,
  createdAt: Timestamp,
  settledAt: t.Union([Timestamp, t.Null()]),
});
export type ReservationModel = typeof ReservationModel.static;

/** A new reservation: the hold, its ledger entry and the balance after it. */
export const CreatedReservationModel = t.Object({
  reservation: ReservationModel,
  transaction: CreditTransactionModel,
  balance: t.Integer(),
});
export type CreatedReservationModel = typeof CreatedReservationModel.static;

/** A captured or released reservation and the balance after it. */
export const SettledReservationModel = t.Object({ reservation: ReservationModel, balance: t.Integer() });
export type SettledReservationModel = typeof SettledReservationModel.static;
