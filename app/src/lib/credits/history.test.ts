import { describe, expect, test } from 'bun:test';
import type { CreditTransaction, CreditTransactionPage } from '../api';
import { loadTransactionsSince } from './history';

/** A ledger of `count` entries one hour apart, the newest at `newest`, served newest first by cursor. */
function ledger(count: number, newest = Date.parse('2025-06-15T12:00:00.000Z')) {
  const entries: CreditTransaction[] = Array.from({ length: count }, (_, index) => ({
    id: `t${String(count - index).padStart(4, '0')}`,
    type: 'consume',
    amount: -1,
    balanceAfter: 0,
    reason: 'work',
    metadata: {},
    createdAt: new Date(newest - index * 3600_000).toISOString(),
  }));
  const requests: Array<string | undefined> = [];
  async function loadPage({
    limit,
    cursor,
  }: {
    limit: number;
    cursor?: string;
  }): Promise<CreditTransactionPage> {
    requests.push(cursor);
    const start = cursor ? entries.findIndex((candidate) => candidate.id === cursor) + 1 : 0;
    const items = entries.slice(start, start + limit);
    const last = items.at(-1);
    return { items, nextCursor: start + limit < entries.length && last ? last.id : null };
  }
  return { entries, requests, loadPage };
}

describe('loadTransactionsSince', () => {
  test('stops at the first page reaching past the start of the window', async () => {
    const { requests, loadPage } = ledger(100);
    const since = new Date('2025-06-15T00:30:00.000Z');
    const history = await loadTransactionsSince(loadPage, since, { pageSize: 5 });
    expect(history.complete).toBe(true);
    // 12 entries are within the window (12:00 back to 01:00); the third page reaches past it.
    expect(requests).toHaveLength(3);
    expect(history.transactions).toHaveLength(15);
  });

  test('stops at the end of the ledger', async () => {
    const { requests, loadPage } = ledger(7);
    const history = await loadTransactionsSince(loadPage, new Date(0), { pageSize: 5 });
    expect(history).toMatchObject({ complete: true });
    expect(history.transactions).toHaveLength(7);
    expect(requests).toEqual([undefined, 't0003']);
  });

  test('gives up after the page limit and says the history is incomplete', async () => {
    const { requests, loadPage } = ledger(100);
    const history = await loadTransactionsSince(loadPage, new Date(0), { pageSize: 5, maxPages: 3 });
    expect(history.complete).toBe(false);
    expect(history.transactions).toHaveLength(15);
    expect(requests).toHaveLength(3);
  });

  test('an empty ledger is complete', async () => {
    const { loadPage } = ledger(0);
    expect(await loadTransactionsSince(loadPage, new Date(0))).toEqual({ transactions: [], complete: true });
  });
});
