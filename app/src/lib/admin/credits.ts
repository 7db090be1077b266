/** The bounds the server accepts for one adjustment (whole credits, either sign). */
export const MAX_ADJUSTMENT = 1_000_000_000_000;
export const MAX_REASON_LENGTH = 200;

export type CreditAdjustmentInput =
  | { ok: true; amount: number; reason: string }
  | { ok: false; errors: { amount?: string; reason?: string } };

/**
 * Reads the console's credit form: a whole, non-zero number of credits (negative removes them; a leading
 * `+` or `−` is fine, and digit grouping is ignored) and a reason for the ledger.
 */
export function readCreditAdjustment(amountText: string, reasonText: string): CreditAdjustmentInput {
  const errors: { amount?: string; reason?: string } = {};
  const normalized = amountText
    .trim()
    .replace(/[\s,_]/g, '')
    .replace(/^\u2212/, '-');
  let amount = Number.NaN;
  if (normalized === '') errors.amount = 'Enter a number of credits.';
  else if (!/^[+-]?\d+$/.test(normalized)) errors.amount = 'Use a whole number, e.g. 500 or -200.';
  else {
    amount = Number(normalized);
    if (amount === 0) errors.amount = 'An adjustment of 0 changes nothing.';
    else if (Math.abs(amount) > MAX_ADJUSTMENT) errors.amount = 'At most 1,000,000,000,000 credits at once.';
  }
  const reason = reasonText.trim();
  if (reason === '') errors.reason = 'Say why: the ledger and the audit trail keep it.';
  else if (reason.length > MAX_REASON_LENGTH) errors.reason = `At most ${MAX_REASON_LENGTH} characters.`;
  if (errors.amount || errors.reason) return { ok: false, errors };
  return { ok: true, amount, reason };
}
