import { describe, expect, test } from 'bun:test';
import type { CreditTransaction } from '../api';
import { testEvents } from '../realtime/test-events';
import {
  applyCreditEvent,
  applyCreditEvents,
  type CreditsState,
  isLowBalance,
  mergeTransactions,
  movementOf,
  transactionKind,
} from './ledger';

const event = testEvents({ channelOf: () => 'credits' });

function entry(
  id: string,
  type: string,
  amount: number,
  balanceAfter: number,
  createdAt: string,
): CreditTransaction {
  return { id, type, amount, balanceAfter, reason: `${type} ${id}`, metadata: {}, createdAt };
}

const grant = entry('t1', 'grant', 1000, 1000, '2025-06-14T09:00:00.000Z');
const spend = entry('t2', 'consume', -100, 900, '2025-06-15T10:00:00.000Z');
const loaded: CreditsState = { balance: 900, lowBalanceThreshold: null, transactions: [spend, grant] };

describe('movementOf', () => {
  test('reads the entry and balance of any credits movement, including kinds added later', () => {
    const later = entry('t3', 'refund', -50, 850, '2025-06-15T11:00:00.000Z');
    expect(movementOf(event('credits.refunded', { transaction: later, balance: 850 }))).toEqual({
      transaction: later,
      balance: 850,
    });
  });

  test('ignores events without a movement, and other channels', () => {
    expect(movementOf(event('credits.low_balance', { balance: 10, threshold: 100 }))).toBeNull();
    expect(movementOf(event('organization.created', { transaction: spend, balance: 1 }))).toBeNull();
    expect(movementOf(event('credits.consumed', { transaction: { id: 't9' }, balance: 1 }))).toBeNull();
  });
});

describe('mergeTransactions', () => {
  test('adds only unknown entries, keeping newest first', () => {
    const older = entry('t0', 'grant', 5, 5, '2025-06-01T00:00:00.000Z');
    const merged = mergeTransactions([spend, grant], [grant, older, spend]);
    expect(merged.map((transaction) => transaction.id)).toEqual(['t2', 't1', 't0']);
  });

  test('answers the same list when nothing is new', () => {
    const known = [spend, grant];
    expect(mergeTransactions(known, [grant])).toBe(known);
  });

  test('orders entries of the same instant by id, newest id first', () => {
    const at = '2025-06-15T10:00:00.000Z';
    const merged = mergeTransactions([entry('a', 'consume', -1, 1, at)], [entry('b', 'consume', -1, 0, at)]);
    expect(merged.map((transaction) => transaction.id)).toEqual(['b', 'a']);
  });
});

describe('applyCreditEvent', () => {
  test('a new movement adds its entry and sets the balance', () => {
    const next = entry('t3', 'consume', -300, 600, '2025-06-15T11:00:00.000Z');
    const state = applyCreditEvent(loaded, event('credits.consumed', { transaction: next, balance: 600 }));
    expect(state.balance).toBe(600);
    expect(state.transactions.map((transaction) => transaction.id)).toEqual(['t3', 't2', 't1']);
  });

  test('a movement the loaded data already holds changes nothing (no double count, no stale balance)', () => {
    const stale = applyCreditEvent(loaded, event('credits.granted', { transaction: grant, balance: 1000 }));
    expect(stale).toBe(loaded);
  });

  test('the same event delivered twice counts once', () => {
    const next = entry('t3', 'consume', -300, 600, '2025-06-15T11:00:00.000Z');
    const consumed = event('credits.consumed', { transaction: next, balance: 600 });
    const state = applyCreditEvents(loaded, [consumed, consumed]);
    expect(state.transactions).toHaveLength(3);
    expect(state.balance).toBe(600);
  });

  test('events apply in order: the last movement’s balance stands', () => {
    const first = entry('t3', 'consume', -300, 600, '2025-06-15T11:00:00.000Z');
    const second = entry('t4', 'grant', 50, 650, '2025-06-15T11:05:00.000Z');
    const state = applyCreditEvents(loaded, [
      event('credits.consumed', { transaction: first, balance: 600 }),
      event('credits.granted', { transaction: second, balance: 650, expiresAt: null }),
    ]);
    expect(state.balance).toBe(650);
    expect(state.transactions[0]?.id).toBe('t4');
  });

  test('a low-balance alert brings the threshold set since the page loaded', () => {
    const next = entry('t3', 'consume', -850, 50, '2025-06-15T11:00:00.000Z');
    const state = applyCreditEvents(loaded, [
      event('credits.consumed', { transaction: next, balance: 50 }),
      event('credits.low_balance', { balance: 50, threshold: 100 }),
    ]);
    expect(state.lowBalanceThreshold).toBe(100);
    expect(isLowBalance(state)).toBe(true);
  });

  test('other events leave the state as it is', () => {
    expect(applyCreditEvent(loaded, event('credits.something_new', { count: 1 }))).toBe(loaded);
  });
});

describe('isLowBalance', () => {
  test('only below a threshold that is set', () => {
    expect(isLowBalance({ balance: 99, lowBalanceThreshold: 100 })).toBe(true);
    expect(isLowBalance({ balance: 100, lowBalanceThreshold: 100 })).toBe(false);
    expect(isLowBalance({ balance: 0, lowBalanceThreshold: null })).toBe(false);
  });
});

describe('transactionKind', () => {
  test('names every ledger type, and an unknown one by itself', () => {
    expect(transactionKind('consume').label).toBe('Usage');
    expect(transactionKind('refund').tone).toBe('danger');
    expect(transactionKind('bonus')).toEqual({ label: 'Bonus', tone: 'neutral' });
  });
});

describe('threshold changes', () => {
  test('a set or cleared threshold applies at once, with the balance it was set at', () => {
    const set = applyCreditEvent(
      loaded,
      event('credits.threshold_updated', { lowBalanceThreshold: 1000, balance: 900 }),
    );
    expect(set).toMatchObject({ lowBalanceThreshold: 1000, balance: 900 });
    expect(isLowBalance(set)).toBe(true);
    const cleared = applyCreditEvent(
      set,
      event('credits.threshold_updated', { lowBalanceThreshold: null, balance: 900 }),
    );
    expect(cleared.lowBalanceThreshold).toBeNull();
    expect(isLowBalance(cleared)).toBe(false);
  });
});
