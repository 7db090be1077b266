import { redirect } from '@sveltejs/kit';
import { homePathFor } from '$lib/access/navigation';
import { getCreditBalance, listCreditTransactions } from '$lib/api';
import { loadTransactionsSince } from '$lib/credits/history';
import { usageWindowStart } from '$lib/credits/usage';
import { raiseLoadFailure } from '$lib/load-failure';
import { realtime } from '$lib/realtime/realtime.svelte';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ depends, parent, url }) => {
  depends('app:credits');
  const { identity } = await parent();
  // Everyone lands here after signing in; someone who may not see the credits goes on to what they can see.
  if (!identity.permissions.includes('credits:read')) redirect(307, homePathFor(identity.permissions));
  // Read before fetching: every change after this seq arrives as an event, and the page applies it.
  const seq = realtime.lastSeq('credits');
  try {
    const history = await loadTransactionsSince(listCreditTransactions, usageWindowStart(new Date()));
    // After the ledger, never alongside it: the balance then reflects at least every loaded entry, which
    // lets live events for those entries be skipped (see applyCreditEvent).
    const balance = await getCreditBalance();
    return { balance, history, seq };
  } catch (failure) {
    raiseLoadFailure(failure, url);
  }
};
