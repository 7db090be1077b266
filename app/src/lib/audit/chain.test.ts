import { describe, expect, test } from 'bun:test';
import type { AuditVerdict } from '../api';
import { chainStateOf } from './chain';

const checkpoint: NonNullable<AuditVerdict['checkpoint']> = {
  tenantId: 'tenant-1',
  seq: 42,
  hash: 'a'.repeat(64),
  signedAt: '2025-06-15T12:00:00.000Z',
  reason: 'on-demand',
  keyId: 'key-1',
  signature: 'sig',
};

const verdict = (fields: Partial<AuditVerdict>): AuditVerdict => ({
  valid: true,
  checked: 45,
  attestedThroughSeq: 42,
  startSeq: 1,
  checkpoint,
  ...fields,
});

describe('chainStateOf', () => {
  test('verified up to the newest signed checkpoint', () => {
    expect(chainStateOf(verdict({}))).toEqual({
      kind: 'verified',
      checkpointSeq: 42,
      signedAt: '2025-06-15T12:00:00.000Z',
      checked: 45,
    });
  });

  test('intact but attested by no checkpoint yet', () => {
    expect(chainStateOf(verdict({ checkpoint: null, attestedThroughSeq: null }))).toEqual({
      kind: 'unattested',
      checked: 45,
    });
  });

  test('broken: why, and the first entry that does not verify', () => {
    expect(
      chainStateOf(
        verdict({ valid: false, reason: 'seq-gap', firstBrokenId: 'entry-7', firstBrokenSeq: 7, checked: 6 }),
      ),
    ).toEqual({
      kind: 'broken',
      reason: 'seq-gap',
      explanation: 'An entry was removed from the chain.',
      firstBrokenId: 'entry-7',
      firstBrokenSeq: 7,
      checked: 6,
    });
  });

  test('broken without a named entry (the newest ones removed after a checkpoint)', () => {
    const state = chainStateOf(verdict({ valid: false, reason: 'checkpoint-missing-entry' }));
    expect(state).toMatchObject({ kind: 'broken', firstBrokenId: null, firstBrokenSeq: null });
  });
});
