import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asc, eq, sql } from 'drizzle-orm';
import type { Database, ScopedDb } from '../../db/client.ts';
import { auditEntries } from '../../db/schema/index.ts';
import { withTenant } from '../../db/tenant.ts';
import type { AuditAction } from '../features/audit/catalog.ts';
import type { ChainVerdict } from '../features/audit/chain.ts';
import type { AuditEntry } from '../features/audit/model.ts';
import { recordAudit, systemWho } from '../features/audit/record.ts';
import { toAuditEntry } from '../features/audit/service.ts';
import { auditSigner, parseAuditSigningKey } from '../features/audit/signing-key.ts';
import { TEST_AUDIT_SIGNING_KEY } from './harness.ts';
import { projectRoot } from './server-process.ts';

/** The signer the test apps use (this run's key). */
export const testAuditSigner = auditSigner(parseAuditSigningKey(TEST_AUDIT_SIGNING_KEY));

/** Appends `count` entries to the tenant's chain, each in its own tenant transaction. */
export async function recordEntries(database: Database, tenantId: string, count: number, label = 'entry') {
  const recorded: { id: string; seq: number }[] = [];
  for (let index = 0; index < count; index += 1) {
    recorded.push(
      await withTenant(database, tenantId, (db) =>
        recordAudit(db, tenantId, systemWho('test.audit'), {
          action: 'organization.created' satisfies AuditAction,
          targets: [{ type: 'organization', id: Bun.randomUUIDv7(), name: `${label} ${index}` }],
          changes: { name: [null, `${label} ${index}`] },
          metadata: { index, note: 'ünïcode ✓', nested: { b: 2, a: [1, 'x', null] } },
        }),
      ),
    );
  }
  return recorded;
}

/** The tenant's entries as the export shows them (seq ascending), read as the owner. */
export async function entriesOf(database: Database, tenantId: string): Promise<AuditEntry[]> {
  const rows = await database.owner
    .select()
    .from(auditEntries)
    .where(eq(auditEntries.tenantId, tenantId))
    .orderBy(asc(auditEntries.seq));
  return rows.map(toAuditEntry);
}

/**
 * Runs `fn` as the database owner with the immutability trigger off for the transaction, as someone
 * with database access (but not the signing key) would.
 */
export function asTamperer(database: Database, fn: (db: ScopedDb) => Promise<unknown>): Promise<unknown> {
  return database.owner.transaction(async (tx) => {
    await tx.execute(sql`set local session_replication_role = replica`);
    await fn(tx as unknown as ScopedDb);
  });
}

export const tempDir = () => mkdtempSync(join(tmpdir(), 'wrapper-audit-'));

/** Writes entries as the NDJSON export does: one `AuditEntryModel` JSON per line. */
export function writeExport(dir: string, entries: readonly AuditEntry[], name = 'export.ndjson'): string {
  const path = join(dir, name);
  writeFileSync(path, entries.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
  return path;
}

export function writeJson(dir: string, name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

/** `bun run audit:verify` in its own process: the verdict it prints, and its exit code. */
export async function runOfflineVerifier(
  args: string[],
): Promise<{ code: number; verdict: ChainVerdict; stdout: string; stderr: string }> {
  const child = Bun.spawn(['bun', 'server/cli/audit-verify.ts', ...args], {
    cwd: projectRoot,
    stdout: 'pipe',
    stderr: 'pipe',
    env: { ...process.env, DATABASE_URL: '', REDIS_URL: '' },
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  const last = stdout.trim().split('\n').at(-1) ?? '';
  let verdict: ChainVerdict;
  try {
    verdict = JSON.parse(last);
  } catch {
    throw new Error(`audit:verify printed no verdict (exit ${code}):\n${stdout}\n${stderr}`);
  }
  return { code, verdict, stdout, stderr };
}
