import type { CreditTransaction } from '../api';
import type { RealtimeEvent } from '../realtime/apply';
import type { BadgeTone } from '../ui/badge';

/** The balance and the ledger entries a page shows, as loaded and then moved by live events. */
export interface CreditsState {
  balance: number;
  lowBalanceThreshold: number | null;
  /** Newest first, each entry once. */
  transactions: readonly CreditTransaction[];
}

/** A balance movement as `credits.*` events carry it: the ledger entry and the balance after it. */
export interface CreditMovement {
  transaction: CreditTransaction;
  balance: number;
}

/**
 * The movement an event carries, if it carries one. Read from the data's shape rather than a list of event
 * types: every `credits.*` movement has the same `{transaction, balance}`, including kinds the server adds
 * later (purchases, refunds, adjustments), and those then show up without a change here.
 */
export function movementOf(event: RealtimeEvent): CreditMovement | null {
  if (!event.type.startsWith('credits.')) return null;
  const data = event.data as Record<string, unknown>;
  const { transaction, balance } = data;
  if (!Number.isFinite(balance) || !isTransaction(transaction)) return null;
  return { transaction, balance: balance as number };
}

function isTransaction(value: unknown): value is CreditTransaction {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return (
    typeof candidate.id === 'string' &&
    typeof candidate.type === 'string' &&
    Number.isFinite(candidate.amount) &&
    Number.isFinite(candidate.balanceAfter) &&
    typeof candidate.createdAt === 'string'
  );
}

/** Newest first; entries made in the same instant keep the server's order (ids grow with time). */
function newestFirst(left: CreditTransaction, right: CreditTransaction): number {
  return (
    Date.parse(right.createdAt) - Date.parse(left.createdAt) ||
    (left.id < right.id ? 1 : left.id > right.id ? -1 : 0)
  );
}

/**
 * `known` with the entries of `incoming` it does not hold yet (by id), newest first. Pages loaded one after
 * another overlap when entries are added in between, and an event may bring an entry a page already had.
 */
export function mergeTransactions(
  known: readonly CreditTransaction[],
  incoming: readonly CreditTransaction[],
): readonly CreditTransaction[] {
  const ids = new Set(known.map((transaction) => transaction.id));
  const added: CreditTransaction[] = [];
  for (const transaction of incoming) {
    if (ids.has(transaction.id)) continue;
    ids.add(transaction.id);
    added.push(transaction);
  }
  if (added.length === 0) return known;
  return [...known, ...added].sort(newestFirst);
}

/**
 * One live event applied to the state. A movement whose entry the state already holds changes nothing: the
 * loaded data reflected it already. (Pages load the balance after the ledger, so a loaded balance is never
 * older than the loaded entries, and skipping such an event cannot leave it behind.) A new movement adds
 * its entry and sets the balance it reports; events arrive in order, so the last one's balance stands.
 */
export function applyCreditEvent(state: CreditsState, event: RealtimeEvent): CreditsState {
  const movement = movementOf(event);
  if (movement) {
    const transactions = mergeTransactions(state.transactions, [movement.transaction]);
    if (transactions === state.transactions) return state;
    return { ...state, balance: movement.balance, transactions };
  }
  if (event.type === 'credits.threshold_updated') {
    const { lowBalanceThreshold, balance } = event.data as Record<string, unknown>;
    return {
      ...state,
      lowBalanceThreshold: typeof lowBalanceThreshold === 'number' ? lowBalanceThreshold : null,
      balance: typeof balance === 'number' ? balance : state.balance,
    };
  }
  if (event.type === 'credits.low_balance') {
    // The balance itself comes with the movement that crossed the threshold.
    const { threshold } = event.data as Record<string, unknown>;
    if (typeof threshold === 'number' && threshold !== state.lowBalanceThreshold) {
      return { ...state, lowBalanceThreshold: threshold };
    }
  }
  return state;
}

/** Every event in order; see {@link applyCreditEvent}. */
export function applyCreditEvents(state: CreditsState, events: readonly RealtimeEvent[]): CreditsState {
  return events.reduce(applyCreditEvent, state);
}

/** Whether the balance is under the tenant's low-balance threshold. */
export function isLowBalance(state: Pick<CreditsState, 'balance' | 'lowBalanceThreshold'>): boolean {
  return state.lowBalanceThreshold !== null && state.balance < state.lowBalanceThreshold;
}

interface TransactionKind {
  label: string;
  tone: BadgeTone;
}

const kinds: Record<string, TransactionKind> = {
  grant: { label: 'Grant', tone: 'success' },
  purchase: { label: 'Purchase', tone: 'success' },
  consume: { label: 'Usage', tone: 'brand' },
  reserve: { label: 'Reserved', tone: 'neutral' },
  capture: { label: 'Captured', tone: 'brand' },
  release: { label: 'Released', tone: 'neutral' },
  expire: { label: 'Expired', tone: 'warning' },
  adjust: { label: 'Adjustment', tone: 'neutral' },
  refund: { label: 'Refund', tone: 'danger' },
};

/** How a ledger entry's type reads in a table. */
export function transactionKind(type: string): TransactionKind {
  return kinds[type] ?? { label: type.charAt(0).toUpperCase() + type.slice(1), tone: 'neutral' };
}
