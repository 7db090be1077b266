import { and, desc, eq, lt, sql } from 'drizzle-orm';
import type { Database, ScopedDb } from '../../../db/client.ts';
import { selectRows } from '../../../db/client.ts';
import { type AuditCheckpointRow, auditCheckpoints } from '../../../db/schema/index.ts';
import type { PeriodicJob } from '../../../realtime/periodic.ts';
import type { Logger } from '../../logger.ts';
import { CHECKPOINT_LOG_MESSAGE, toHex } from './chain.ts';
import type { AuditCheckpoint } from './model.ts';
import type { AuditSigner } from './signing-key.ts';

/** Checkpoints are written by the audit role only (decision 0017): never a request's own role. */
const AUDIT = { role: 'app_audit' } as const;

export const GENESIS_HEX = '0'.repeat(64);

export function checkpointFromRow(row: AuditCheckpointRow): AuditCheckpoint {
  return {
    tenantId: row.tenantId,
    seq: row.seq,
    hash: toHex(row.hash),
    signedAt: row.signedAt.toISOString(),
    reason: row.reason as AuditCheckpoint['reason'],
    keyId: row.keyId,
    signature: Buffer.from(row.signature).toString('base64url'),
  };
}

/**
 * Publishes a checkpoint outside the table: one structured log line, so the log stream (shipped to
 * Elasticsearch) holds a copy a tamperer with the database alone cannot remove. `bun run audit:verify
 * --checkpoints` reads such lines back.
 */
export function publishCheckpoint(logger: Logger, checkpoint: AuditCheckpoint): void {
  logger.info({ checkpoint }, CHECKPOINT_LOG_MESSAGE);
}

/**
 * Stores a signed checkpoint (in an `app_audit` transaction). Answers it, or null when this key has
 * already signed that seq of the tenant (another node, or an earlier request, was first).
 */
async function insertCheckpoint(db: ScopedDb, checkpoint: AuditCheckpoint): Promise<AuditCheckpoint | null> {
  const [row] = await db
    .insert(auditCheckpoints)
    .values({
      tenantId: checkpoint.tenantId,
      seq: checkpoint.seq,
      hash: Buffer.from(checkpoint.hash, 'hex'),
      signedAt: new Date(checkpoint.signedAt),
      reason: checkpoint.reason,
      keyId: checkpoint.keyId,
      signature: Buffer.from(checkpoint.signature, 'base64url'),
    })
    .onConflictDoNothing()
    .returning();
  return row ? checkpointFromRow(row) : null;
}

interface Head {
  tenantId: string;
  seq: number;
  hash: string;
}

const headsOf = (rows: { tenant_id: string; last_seq: number | string; last_hash: Uint8Array }[]): Head[] =>
  rows.map((row) => ({ tenantId: row.tenant_id, seq: Number(row.last_seq), hash: toHex(row.last_hash) }));

const signNow = (signer: AuditSigner, head: Head, reason: AuditCheckpoint['reason']) =>
  signer.sign({
    tenantId: head.tenantId,
    seq: head.seq,
    hash: head.hash,
    signedAt: new Date().toISOString(),
    reason,
  });

export interface CheckpointDeps {
  database: Database;
  signer: AuditSigner;
  logger: Logger;
}

/**
 * Signs the head of every tenant whose chain moved since this key's last checkpoint of it, stores the
 * checkpoints (role app_audit) and writes each to the log. Safe on many nodes at once: a tenant's seq
 * is signed once per key (the primary key), and only the node that stored it logs it. Answers the
 * checkpoints signed.
 */
export async function checkpointMovedChains(
  deps: CheckpointDeps,
  options: { batchSize?: number; signal?: AbortSignal } = {},
): Promise<AuditCheckpoint[]> {
  const batchSize = options.batchSize ?? 500;
  const signed: AuditCheckpoint[] = [];
  for (;;) {
    if (options.signal?.aborted) return signed;
    const stored = await deps.database.transaction(AUDIT, async (db) => {
      const moved = headsOf(
        await selectRows(
          db,
          sql`select h.tenant_id, h.last_seq, h.last_hash from audit_chain_heads h
              where h.last_seq > coalesce((select max(c.seq) from audit_checkpoints c
                                           where c.tenant_id = h.tenant_id and c.key_id = ${deps.signer.keyId}), 0)
              order by h.tenant_id limit ${batchSize}`,
        ),
      );
      const written: AuditCheckpoint[] = [];
      for (const head of moved) {
        const checkpoint = await insertCheckpoint(db, signNow(deps.signer, head, 'periodic'));
        if (checkpoint) written.push(checkpoint);
      }
      return { written, more: moved.length === batchSize };
    });
    for (const checkpoint of stored.written) publishCheckpoint(deps.logger, checkpoint);
    signed.push(...stored.written);
    if (!stored.more) return signed;
  }
}

/**
 * `checkpointMovedChains` at start (what was written before a restart is signed at once) and every
 * `intervalSeconds` (AUDIT_CHECKPOINT_INTERVAL_SECONDS).
 */
export function auditCheckpointJob(deps: CheckpointDeps & { intervalSeconds: number }): PeriodicJob {
  return {
    name: 'audit.checkpoints',
    intervalMs: deps.intervalSeconds * 1000,
    runNow: true,
    run: (signal) => checkpointMovedChains(deps, { signal }),
  };
}

/**
 * Signs one tenant's current head now (`POST /v1/audit-logs/checkpoints`); `headDb` reads the head in
 * the caller's own request transaction (its access checked there). A tenant with no entry yet gets a
 * checkpoint of seq 0 (the empty chain). When this key has already signed that seq, the stored one is
 * answered instead (`created: false`).
 */
export async function checkpointNow(
  deps: CheckpointDeps,
  tenantId: string,
  head: { seq: number; hash: string } | null,
): Promise<{ checkpoint: AuditCheckpoint; created: boolean }> {
  const current: Head = { tenantId, seq: head?.seq ?? 0, hash: head?.hash ?? GENESIS_HEX };
  const result = await deps.database.transaction(AUDIT, async (db) => {
    const stored = await insertCheckpoint(db, signNow(deps.signer, current, 'on-demand'));
    if (stored) return { checkpoint: stored, created: true };
    const [row] = await db
      .select()
      .from(auditCheckpoints)
      .where(
        and(
          eq(auditCheckpoints.tenantId, tenantId),
          eq(auditCheckpoints.seq, current.seq),
          eq(auditCheckpoints.keyId, deps.signer.keyId),
        ),
      );
    if (!row) throw new Error('a checkpoint conflicted and then was not found');
    return { checkpoint: checkpointFromRow(row), created: false };
  });
  if (result.created) publishCheckpoint(deps.logger, result.checkpoint);
  return result;
}

/** The tenant's chain head, read in a tenant transaction (RLS); null before its first entry. */
export async function readChainHead(db: ScopedDb): Promise<{ seq: number; hash: string } | null> {
  const [row] = await selectRows<{ last_seq: number | string; last_hash: Uint8Array }>(
    db,
    sql`select last_seq, last_hash from audit_chain_heads where tenant_id = current_tenant_id()`,
  );
  return row ? { seq: Number(row.last_seq), hash: toHex(row.last_hash) } : null;
}

/** The tenant's checkpoints, newest first, in a tenant transaction; `before`: those of a lower seq. */
export async function listCheckpoints(
  db: ScopedDb,
  tenantId: string,
  page: { before?: number; limit: number },
): Promise<{ items: AuditCheckpoint[]; nextCursor: string | null }> {
  const rows = await db
    .select()
    .from(auditCheckpoints)
    .where(
      and(
        eq(auditCheckpoints.tenantId, tenantId),
        page.before === undefined ? undefined : lt(auditCheckpoints.seq, page.before),
      ),
    )
    .orderBy(desc(auditCheckpoints.seq), auditCheckpoints.keyId)
    .limit(page.limit + 1);
  const items = rows.slice(0, page.limit).map(checkpointFromRow);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > page.limit && last ? String(last.seq) : null };
}
