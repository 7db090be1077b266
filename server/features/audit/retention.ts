import { and, eq, sql } from 'drizzle-orm';
import type { Database } from '../../../db/client.ts';
import { selectRows } from '../../../db/client.ts';
import { auditCheckpoints } from '../../../db/schema/index.ts';
import type { PeriodicJob } from '../../../realtime/periodic.ts';
import type { Logger } from '../../logger.ts';
import { toHex } from './chain.ts';
import { checkpointFromRow, publishCheckpoint } from './checkpoints.ts';
import type { AuditCheckpoint } from './model.ts';
import type { AuditSigner } from './signing-key.ts';

const AUDIT = { role: 'app_audit' } as const;

export interface AuditRetentionDeps {
  database: Database;
  signer: AuditSigner;
  logger: Logger;
  /** Entries older than this many days are pruned. */
  retentionDays: number;
  /** When "now" is (tests). */
  now?: () => Date;
  /** Entries removed per transaction, each batch below a retention checkpoint of its own. @default 10000 */
  batchSize?: number;
}

export interface PrunedTenant {
  tenantId: string;
  /** Entries up to and including this seq were removed; the retention checkpoint signs it. */
  throughSeq: number;
  removed: number;
  checkpoint: AuditCheckpoint;
}

/** How far below the cut the retention checkpoint may move to find a seq no other checkpoint took. */
const MAX_STEPS_DOWN = 32;

/**
 * Retention (decision 0017): per tenant, the cut is the last entry before the first one young enough to
 * keep (or the last entry, when all are old). A signed `retention` checkpoint is written at the cut and
 * `prune_audit_entries` removes everything up to it, in one `app_audit` transaction; what remains
 * chains from that checkpoint's hash, so it still verifies, and a verifier accepts a chain starting
 * after seq 1 only at a retention checkpoint. When this key already signed the cut's seq for another
 * reason, the cut moves one entry down (kept until the next run). Answers what was pruned.
 */
export async function pruneAuditTrail(deps: AuditRetentionDeps): Promise<PrunedTenant[]> {
  const now = deps.now?.() ?? new Date();
  const cutoff = new Date(now.getTime() - deps.retentionDays * 86_400_000).toISOString();
  const due = await deps.database.transaction(AUDIT, (db) =>
    selectRows<{
      tenant_id: string;
      first_seq: string | number;
      first_kept: string | number | null;
      last_seq: string | number;
    }>(
      db,
      sql`select h.tenant_id,
                 (select min(e.seq) from audit_entries e where e.tenant_id = h.tenant_id) as first_seq,
                 (select min(e.seq) from audit_entries e
                   where e.tenant_id = h.tenant_id and e.occurred_at >= ${cutoff}::timestamptz) as first_kept,
                 h.last_seq
          from audit_chain_heads h
          where exists (select from audit_entries e
                        where e.tenant_id = h.tenant_id and e.occurred_at < ${cutoff}::timestamptz)`,
    ),
  );
  const pruned: PrunedTenant[] = [];
  const batchSize = deps.batchSize ?? 10_000;
  for (const tenant of due) {
    let firstSeq = Number(tenant.first_seq);
    const cut = tenant.first_kept === null ? Number(tenant.last_seq) : Number(tenant.first_kept) - 1;
    let total = null as PrunedTenant | null;
    try {
      // A long backlog (retention just turned on) goes in bounded transactions, each cut signed.
      while (firstSeq <= cut) {
        const done = await pruneTenant(
          deps,
          tenant.tenant_id,
          Math.min(cut, firstSeq + batchSize - 1),
          firstSeq,
        );
        if (!done) break;
        if (done.signed) publishCheckpoint(deps.logger, done.result.checkpoint);
        total = { ...done.result, removed: (total?.removed ?? 0) + done.result.removed };
        firstSeq = done.result.throughSeq + 1;
      }
    } catch (error) {
      deps.logger.error({ err: error, tenantId: tenant.tenant_id }, 'audit retention failed; retried later');
    }
    if (total) pruned.push(total);
  }
  return pruned;
}

async function pruneTenant(
  deps: AuditRetentionDeps,
  tenantId: string,
  cut: number,
  firstSeq: number,
): Promise<{ result: PrunedTenant; signed: boolean } | null> {
  return deps.database.transaction(AUDIT, async (db) => {
    for (let seq = cut; seq >= Math.max(firstSeq, cut - MAX_STEPS_DOWN); seq -= 1) {
      const [existing] = await db
        .select()
        .from(auditCheckpoints)
        .where(
          and(
            eq(auditCheckpoints.tenantId, tenantId),
            eq(auditCheckpoints.seq, seq),
            eq(auditCheckpoints.keyId, deps.signer.keyId),
          ),
        );
      if (existing && existing.reason !== 'retention') continue;
      let checkpoint: AuditCheckpoint;
      let signed = false;
      if (existing) checkpoint = checkpointFromRow(existing);
      else {
        const [entry] = await selectRows<{ hash: Uint8Array }>(
          db,
          sql`select hash from audit_entries where tenant_id = ${tenantId}::uuid and seq = ${seq}`,
        );
        if (!entry) return null;
        checkpoint = deps.signer.sign({
          tenantId,
          seq,
          hash: toHex(entry.hash),
          signedAt: new Date().toISOString(),
          reason: 'retention',
        });
        await db.insert(auditCheckpoints).values({
          tenantId,
          seq,
          hash: Buffer.from(checkpoint.hash, 'hex'),
          signedAt: new Date(checkpoint.signedAt),
          reason: 'retention',
          keyId: checkpoint.keyId,
          signature: Buffer.from(checkpoint.signature, 'base64url'),
        });
        signed = true;
      }
      const [row] = await selectRows<{ removed: number | string }>(
        db,
        sql`select prune_audit_entries(${tenantId}::uuid, ${seq}::bigint) as removed`,
      );
      return {
        result: { tenantId, throughSeq: seq, removed: Number(row?.removed ?? 0), checkpoint },
        signed,
      };
    }
    return null;
  });
}

/** Prunes every hour (and at start) when AUDIT_RETENTION_DAYS is set. */
export function auditRetentionJob(deps: AuditRetentionDeps & { intervalMs?: number }): PeriodicJob {
  return {
    name: 'audit.retention',
    intervalMs: deps.intervalMs ?? 60 * 60_000,
    runNow: true,
    run: () => pruneAuditTrail(deps),
  };
}
