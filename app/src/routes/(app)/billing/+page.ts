import { requirePermission } from '$lib/access/require-permission';
import { getBillingCatalog, getCreditBalance, getSubscription, listCreditTransactions } from '$lib/api';
import { LEDGER_PAGE_SIZE } from '$lib/billing/billing';
import { raiseLoadFailure } from '$lib/load-failure';
import { realtime } from '$lib/realtime/realtime.svelte';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ depends, parent, url }) => {
  depends('app:billing');
  const { identity } = await parent();
  requirePermission(identity, 'credits:read');
  // Read before fetching: every change after these seqs arrives as an event, and the page applies it.
  const creditsSeq = realtime.lastSeq('credits');
  const billingSeq = identity.permissions.includes('billing:manage')
    ? realtime.lastSeq('billing')
    : undefined;
  try {
    const [catalog, subscription, ledger] = await Promise.all([
      getBillingCatalog(),
      getSubscription(),
      listCreditTransactions({ limit: LEDGER_PAGE_SIZE }),
    ]);
    // After the ledger, never alongside it: the balance then reflects at least every loaded entry, which
    // lets live events for those entries be skipped (see applyCreditEvent).
    const balance = await getCreditBalance();
    return { catalog, subscription, ledger, balance, creditsSeq, billingSeq };
  } catch (failure) {
    raiseLoadFailure(failure, url);
  }
};
