import type { CreditTransaction, CreditTransactionPage } from '../api';
import { mergeTransactions } from './ledger';

export type TransactionPageLoader = (page: {
  limit: number;
  cursor?: string;
}) => Promise<CreditTransactionPage>;

export interface TransactionHistory {
  /** Newest first, each entry once: every entry since `since`, and those of the last page that reach past it. */
  transactions: readonly CreditTransaction[];
  /**
   * `false` when loading stopped at the page limit before reaching `since`: entries older than the oldest
   * loaded one are missing, and a chart of the period would undercount its start.
   */
  complete: boolean;
}

/**
 * The ledger from now back to `since`, page by page (newest first), stopping at the first page that reaches
 * past `since`, at the end of the ledger, or after `maxPages` pages — a busy tenant's month may hold more
 * entries than are worth loading for a chart.
 */
export async function loadTransactionsSince(
  loadPage: TransactionPageLoader,
  since: Date,
  options: { pageSize?: number; maxPages?: number } = {},
): Promise<TransactionHistory> {
  const pageSize = options.pageSize ?? 100;
  const maxPages = options.maxPages ?? 10;
  const sinceTime = since.getTime();
  let transactions: readonly CreditTransaction[] = [];
  let cursor: string | undefined;
  for (let loaded = 0; loaded < maxPages; loaded++) {
    const page = await loadPage({ limit: pageSize, cursor });
    transactions = mergeTransactions(transactions, page.items);
    const oldest = page.items.at(-1);
    if (!page.nextCursor || !oldest || Date.parse(oldest.createdAt) < sinceTime) {
      return { transactions, complete: true };
    }
    cursor = page.nextCursor;
  }
  return { transactions, complete: false };
}
