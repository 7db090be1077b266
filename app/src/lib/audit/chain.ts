import type { AuditVerdict } from '../api';

/** What each way the chain can break means, for the person reading the badge. */
const breakExplanations: Record<NonNullable<AuditVerdict['reason']>, string> = {
  'hash-mismatch': 'An entry was changed or forged: its hash does not match its content.',
  'entry-inserted': 'An entry was slipped into the chain and the later ones renumbered.',
  'seq-gap': 'An entry was removed from the chain.',
  'seq-out-of-order': 'The entries are out of order.',
  'wrong-tenant': 'An entry of another workspace is in this chain.',
  'malformed-entry': 'An entry cannot be read as an audit entry.',
  'checkpoint-mismatch': 'The chain no longer matches a signed checkpoint: it was re-hashed.',
  'checkpoint-missing-entry':
    'Entries a signed checkpoint attests are missing: the newest ones were removed.',
  'checkpoint-signature-invalid': 'A checkpoint’s signature does not verify: it was forged.',
  'head-mismatch': 'The chain head disagrees with the last entry.',
};

export type ChainState =
  | { kind: 'verified'; checkpointSeq: number; signedAt: string; checked: number }
  | { kind: 'unattested'; checked: number }
  | {
      kind: 'broken';
      reason: AuditVerdict['reason'];
      explanation: string;
      firstBrokenId: string | null;
      firstBrokenSeq: number | null;
      checked: number;
    };

/**
 * The badge for a verification: verified up to the newest signed checkpoint; intact but not attested yet
 * (no checkpoint signed so far: the links hold, yet nothing outside the database vouches for them); or
 * broken, with why and where.
 */
export function chainStateOf(verdict: AuditVerdict): ChainState {
  if (!verdict.valid) {
    return {
      kind: 'broken',
      reason: verdict.reason,
      explanation: verdict.reason ? breakExplanations[verdict.reason] : 'The chain does not verify.',
      firstBrokenId: verdict.firstBrokenId ?? null,
      firstBrokenSeq: verdict.firstBrokenSeq ?? null,
      checked: verdict.checked,
    };
  }
  if (!verdict.checkpoint) return { kind: 'unattested', checked: verdict.checked };
  // Entries after the checkpoint chain to it; the next checkpoint will attest them.
  return {
    kind: 'verified',
    checkpointSeq: verdict.checkpoint.seq,
    signedAt: verdict.checkpoint.signedAt,
    checked: verdict.checked,
  };
}
