import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { createLogger } from '../../logger.ts';
import {
  asTamperer,
  entriesOf,
  recordEntries,
  runOfflineVerifier,
  tempDir,
  testAuditSigner,
  writeExport,
  writeJson,
} from '../../testing/audit.ts';
import { type SignedUp, startTestApp, type TestApp, testConfig } from '../../testing/harness.ts';
import type { AuditEntry } from './model.ts';
import { pruneAuditTrail } from './retention.ts';

const engine = testConfig.DATABASE_URL ? 'Postgres' : 'PGlite';
const DAYS = 30;
let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.dispose());

/** Two batches of entries; "now" such that the retention's cutoff falls between them. */
async function oldAndNew(owner: SignedUp, old: number, young: number) {
  await recordEntries(app.database, owner.tenantId, old, 'old');
  // Whatever else the tenant's chain holds by now (sign-up may record) is old too.
  const oldCount = (await entriesOf(app.database, owner.tenantId)).length;
  await Bun.sleep(20);
  const between = Date.now();
  await Bun.sleep(20);
  await recordEntries(app.database, owner.tenantId, young, 'young');
  return { now: () => new Date(between + DAYS * 86_400_000), oldCount };
}

const prune = (now: () => Date, batchSize?: number) =>
  pruneAuditTrail({
    batchSize,
    database: app.database,
    signer: testAuditSigner,
    logger: createLogger({ LOG_LEVEL: 'silent', LOG_FORMAT: 'json' }),
    retentionDays: DAYS,
    now,
  });

const verify = async (owner: SignedUp) =>
  (await app.request('GET', '/v1/audit-logs/verify', { token: owner.token })).body;

async function offline(owner: SignedUp, withCheckpoints: boolean) {
  const dir = tempDir();
  const args = [
    writeExport(dir, await entriesOf(app.database, owner.tenantId)),
    '--public-key',
    writeJson(dir, 'key.json', (await app.request('GET', '/v1/audit-logs/public-key')).body),
  ];
  if (withCheckpoints) {
    const page = await app.request('GET', '/v1/audit-logs/checkpoints', { token: owner.token });
    args.push('--checkpoints', writeJson(dir, 'checkpoints.json', page.body));
  }
  return runOfflineVerifier(args);
}

describe(`audit retention (${engine})`, () => {
  test('entries older than the retention are pruned below a signed retention checkpoint; the rest verifies', async () => {
    const owner = await app.signUp();
    const { now, oldCount } = await oldAndNew(owner, 4, 3);
    const all = await entriesOf(app.database, owner.tenantId);
    const cut = all[oldCount - 1] as AuditEntry;
    const pruned = (await prune(now)).find((item) => item.tenantId === owner.tenantId);
    expect(pruned).toMatchObject({ throughSeq: cut.seq, removed: oldCount });
    expect(pruned?.checkpoint).toMatchObject({ seq: cut.seq, hash: cut.hash, reason: 'retention' });
    const left = await entriesOf(app.database, owner.tenantId);
    expect(left.map((entry) => entry.id)).toEqual(all.slice(oldCount).map((entry) => entry.id));

    expect(await verify(owner)).toMatchObject({
      valid: true,
      checked: 3,
      startSeq: cut.seq + 1,
      attestedThroughSeq: cut.seq,
    });
    const cli = await offline(owner, true);
    expect(cli.code).toBe(0);
    expect(cli.verdict).toMatchObject({ valid: true, checked: 3, startSeq: cut.seq + 1 });
    expect(cli.stdout).toContain('older ones pruned');
    // Without the signed cut, a chain that starts late is a chain missing its beginning.
    expect((await offline(owner, false)).verdict).toMatchObject({
      valid: false,
      reason: 'seq-gap',
      firstBrokenSeq: 1,
    });

    // A second run finds nothing more to prune.
    expect((await prune(now)).find((item) => item.tenantId === owner.tenantId)).toBeUndefined();
  });

  test('when every entry is old, all go and the empty remainder still verifies', async () => {
    const owner = await app.signUp();
    await recordEntries(app.database, owner.tenantId, 3);
    const all = await entriesOf(app.database, owner.tenantId);
    const last = all.at(-1) as AuditEntry;
    const later = () => new Date(Date.now() + (DAYS + 1) * 86_400_000);
    expect((await prune(later)).find((item) => item.tenantId === owner.tenantId)).toMatchObject({
      throughSeq: last.seq,
      removed: all.length,
    });
    expect(await entriesOf(app.database, owner.tenantId)).toEqual([]);
    expect(await verify(owner)).toMatchObject({ valid: true, checked: 0, startSeq: last.seq + 1 });
    await recordEntries(app.database, owner.tenantId, 2);
    expect(await verify(owner)).toMatchObject({ valid: true, checked: 2, startSeq: last.seq + 1 });
  });

  test('a long backlog is pruned in bounded transactions, each below a signed retention checkpoint', async () => {
    const owner = await app.signUp();
    const { now, oldCount } = await oldAndNew(owner, 7, 1);
    const all = await entriesOf(app.database, owner.tenantId);
    const pruned = (await prune(now, 3)).find((item) => item.tenantId === owner.tenantId);
    expect(pruned).toMatchObject({ throughSeq: all[oldCount - 1]?.seq, removed: oldCount });
    // Cuts every 3 entries from the first, and the last old one.
    const cuts = all
      .slice(0, oldCount)
      .filter((_, index) => index % 3 === 2 || index === oldCount - 1)
      .map((entry) => [entry.seq, 'retention'])
      .reverse();
    const page = (await app.request('GET', '/v1/audit-logs/checkpoints', { token: owner.token })).body;
    expect(
      page.items.map((checkpoint: { seq: number; reason: string }) => [checkpoint.seq, checkpoint.reason]),
    ).toEqual(cuts);
    expect(await verify(owner)).toMatchObject({ valid: true, checked: 1, startSeq: all[oldCount]?.seq });
  });

  test('a cut already signed for another reason moves one entry down (that seq keeps its checkpoint)', async () => {
    const owner = await app.signUp();
    const { now, oldCount } = await oldAndNew(owner, 3, 2);
    const all = await entriesOf(app.database, owner.tenantId);
    // Sign the head as it stood at the cut: an on-demand checkpoint there (signed as the job would).
    const cut = all[oldCount - 1] as AuditEntry;
    await app.database.transaction({ role: 'app_audit' }, (db) => {
      const checkpoint = testAuditSigner.sign({
        tenantId: owner.tenantId,
        seq: cut.seq,
        hash: cut.hash,
        signedAt: new Date().toISOString(),
        reason: 'on-demand',
      });
      return db.execute(
        sql`insert into audit_checkpoints (tenant_id, seq, hash, signed_at, reason, key_id, signature)
            values (${owner.tenantId}, ${cut.seq}, ${Buffer.from(cut.hash, 'hex')}, ${checkpoint.signedAt},
                    'on-demand', ${checkpoint.keyId}, ${Buffer.from(checkpoint.signature, 'base64url')})`,
      );
    });
    const pruned = (await prune(now)).find((item) => item.tenantId === owner.tenantId);
    expect(pruned).toMatchObject({
      throughSeq: cut.seq - 1,
      removed: oldCount - 1,
      checkpoint: { reason: 'retention' },
    });
    expect(await verify(owner)).toMatchObject({
      valid: true,
      checked: all.length - oldCount + 1,
      startSeq: cut.seq,
      attestedThroughSeq: cut.seq,
    });
  });

  test('the oldest entries removed by hand, not by retention, are a gap at seq 1', async () => {
    const owner = await app.signUp();
    await recordEntries(app.database, owner.tenantId, 4);
    const all = await entriesOf(app.database, owner.tenantId);
    await app.request('POST', '/v1/audit-logs/checkpoints', { token: owner.token });
    await asTamperer(app.database, (db) =>
      db.execute(
        sql`delete from audit_entries where tenant_id = ${owner.tenantId} and seq <= ${all[1]?.seq}`,
      ),
    );
    expect(await verify(owner)).toMatchObject({
      valid: false,
      reason: 'seq-gap',
      firstBrokenSeq: 1,
      firstBrokenId: all[2]?.id,
    });
  });

  test('prune_audit_entries refuses a cut that no checkpoint signs', async () => {
    const owner = await app.signUp();
    await recordEntries(app.database, owner.tenantId, 2);
    const kept = (await entriesOf(app.database, owner.tenantId)).length; // the sign-up's own entry too
    const refused = await app.database
      .transaction({ role: 'app_audit' }, (db) =>
        db.execute(sql`select prune_audit_entries(${owner.tenantId}::uuid, 1)`),
      )
      .then(
        () => null,
        (error: unknown) => error as Error,
      );
    expect(String(refused?.cause ?? refused)).toContain('no checkpoint at seq 1');
    expect(await entriesOf(app.database, owner.tenantId)).toHaveLength(kept);
  });
});
