import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { auditEntries } from '../../../db/schema/index.ts';
import {
  asTamperer,
  entriesOf,
  recordEntries,
  runOfflineVerifier,
  tempDir,
  writeExport,
  writeJson,
} from '../../testing/audit.ts';
import { type SignedUp, startTestApp, type TestApp, testConfig } from '../../testing/harness.ts';
import { chainLink, entryDigest, fromHex, toHex } from './chain.ts';
import type { AuditEntry } from './model.ts';

/**
 * Tamper evidence (decision 0017): someone with the database but not the signing key changes the trail
 * as its owner, the immutability trigger switched off. `GET /v1/audit-logs/verify` and the offline
 * verifier (`bun run audit:verify`, in its own process, on an NDJSON export written from the rows) must
 * each report the same break: the same reason, seq and entry.
 */
const engine = testConfig.DATABASE_URL ? 'Postgres' : 'PGlite';
let app: TestApp;
const logLines: string[] = [];

beforeAll(async () => {
  // Checkpoints are also published as log lines: keep them, as the log stream would.
  const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });
  app = await startTestApp({ logger });
});
afterAll(() => app.dispose());

interface Chain {
  owner: SignedUp;
  entries: AuditEntry[];
}

/**
 * A new tenant whose chain holds `count` entries (what sign-up may record included), signed on demand
 * when it held each of `checkpointAfter`.
 */
async function chain(count: number, checkpointAfter: number[] = []): Promise<Chain> {
  const owner = await app.signUp();
  for (const at of [...checkpointAfter, count]) {
    const held = (await entriesOf(app.database, owner.tenantId)).length;
    await recordEntries(app.database, owner.tenantId, Math.max(0, at - held));
    if (at !== count || checkpointAfter.includes(count)) await signNow(owner);
  }
  return { owner, entries: await entriesOf(app.database, owner.tenantId) };
}

async function signNow(owner: SignedUp) {
  const response = await app.request('POST', '/v1/audit-logs/checkpoints', { token: owner.token });
  expect([200, 201]).toContain(response.status);
  return response.body;
}

const verify = async (owner: SignedUp) => {
  const response = await app.request('GET', '/v1/audit-logs/verify', { token: owner.token });
  expect(response.status).toBe(200);
  return response.body;
};

/** The export, the public key and the checkpoints as files, and the offline verifier's verdict. */
async function offline(owner: SignedUp, options: { checkpointsFile?: string } = {}) {
  const dir = tempDir();
  const file = writeExport(dir, await entriesOf(app.database, owner.tenantId));
  const key = writeJson(dir, 'key.json', (await app.request('GET', '/v1/audit-logs/public-key')).body);
  const page = await app.request('GET', '/v1/audit-logs/checkpoints?limit=1000', { token: owner.token });
  const checkpoints = options.checkpointsFile ?? writeJson(dir, 'checkpoints.json', page.body);
  return runOfflineVerifier([file, '--public-key', key, '--checkpoints', checkpoints]);
}

/** Both verdicts: the server's and the offline one (taken first: the export is read before /verify). */
async function verdicts(owner: SignedUp) {
  const cli = await offline(owner);
  const server = await verify(owner);
  return { server, cli };
}

const breakOf = (verdict: any) => ({
  valid: verdict.valid,
  reason: verdict.reason,
  firstBrokenSeq: verdict.firstBrokenSeq,
  firstBrokenId: verdict.firstBrokenId,
});

/** Re-hashes the stored chain from `fromIndex` on, as someone who knows the formula but not the key. */
async function rehashFrom(owner: SignedUp, fromIndex: number) {
  const entries = await entriesOf(app.database, owner.tenantId);
  let previous: Uint8Array =
    fromIndex === 0 ? new Uint8Array(32) : fromHex(entries[fromIndex - 1]?.hash as string);
  await asTamperer(app.database, async (db) => {
    for (const entry of entries.slice(fromIndex)) {
      previous = chainLink(previous, entry.seq, entryDigest(entry));
      await db.execute(
        sql`update audit_entries set hash = ${Buffer.from(previous)} where tenant_id = ${owner.tenantId} and seq = ${entry.seq}`,
      );
    }
    await db.execute(
      sql`update audit_chain_heads set last_hash = ${Buffer.from(previous)} where tenant_id = ${owner.tenantId}`,
    );
  });
}

describe(`tamper evidence (${engine})`, () => {
  test('an untouched chain verifies, on the server and offline, attested through its checkpoint', async () => {
    const { owner, entries } = await chain(6, [6]);
    const { server, cli } = await verdicts(owner);
    const last = entries.at(-1) as AuditEntry;
    expect(server).toMatchObject({
      valid: true,
      checked: entries.length,
      attestedThroughSeq: last.seq,
      startSeq: 1,
    });
    expect(server.checkpoint).toMatchObject({ seq: last.seq, hash: last.hash, reason: 'on-demand' });
    expect(cli.code).toBe(0);
    expect(cli.verdict).toMatchObject({ valid: true, checked: entries.length, attestedThroughSeq: last.seq });
  });

  test('a changed entry: hash-mismatch at that entry', async () => {
    const { owner, entries } = await chain(6, [6]);
    const target = entries[2] as AuditEntry;
    await asTamperer(app.database, (db) =>
      db.execute(
        sql`update audit_entries set metadata = jsonb_set(metadata, '{index}', '99') where id = ${target.id}`,
      ),
    );
    const { server, cli } = await verdicts(owner);
    const expected = {
      valid: false,
      reason: 'hash-mismatch',
      firstBrokenSeq: target.seq,
      firstBrokenId: target.id,
    };
    expect(breakOf(server)).toEqual(expected);
    expect(breakOf(cli.verdict)).toEqual(expected);
    expect(cli.code).toBe(1);
    expect(cli.stdout).toContain('BROKEN: hash-mismatch');
  });

  test('an entry deleted in the middle: seq-gap at the missing seq, naming the entry after it', async () => {
    const { owner, entries } = await chain(6, [6]);
    const removed = entries[2] as AuditEntry;
    await asTamperer(app.database, (db) =>
      db.execute(sql`delete from audit_entries where id = ${removed.id}`),
    );
    const { server, cli } = await verdicts(owner);
    const expected = {
      valid: false,
      reason: 'seq-gap',
      firstBrokenSeq: removed.seq,
      firstBrokenId: (entries[3] as AuditEntry).id,
    };
    expect(breakOf(server)).toEqual(expected);
    expect(breakOf(cli.verdict)).toEqual(expected);
    expect(cli.code).toBe(1);
  });

  test('a forged entry slid into the middle (later ones renumbered, its own link right): entry-inserted', async () => {
    const { owner, entries } = await chain(6);
    const before = entries[2] as AuditEntry;
    const at = before.seq + 1;
    const forged: AuditEntry = {
      ...before,
      id: Bun.randomUUIDv7(),
      seq: at,
      action: 'member.removed',
      metadata: { forged: true },
      hash: '',
    };
    forged.hash = toHex(chainLink(fromHex(before.hash), at, entryDigest(forged)));
    await asTamperer(app.database, async (db) => {
      // Two steps: a unique key is checked row by row.
      await db.execute(
        sql`update audit_entries set seq = seq + 1000000 where tenant_id = ${owner.tenantId} and seq >= ${at}`,
      );
      await db.execute(
        sql`update audit_entries set seq = seq - 999999 where tenant_id = ${owner.tenantId} and seq >= 1000000`,
      );
      await db.insert(auditEntries).values({
        tenantId: forged.tenantId,
        seq: forged.seq,
        id: forged.id,
        occurredAt: new Date(forged.occurredAt),
        action: forged.action,
        actorType: forged.actor.type,
        actorId: forged.actor.id,
        actorName: forged.actor.name,
        targets: forged.targets,
        context: forged.context,
        changes: forged.changes,
        metadata: forged.metadata,
        outcome: forged.outcome,
        hash: Buffer.from(forged.hash, 'hex'),
      });
      await db.execute(
        sql`update audit_chain_heads set last_seq = last_seq + 1 where tenant_id = ${owner.tenantId}`,
      );
    });
    const { server, cli } = await verdicts(owner);
    const expected = { valid: false, reason: 'entry-inserted', firstBrokenSeq: at, firstBrokenId: forged.id };
    expect(breakOf(server)).toEqual(expected);
    expect(breakOf(cli.verdict)).toEqual(expected);
  });

  test('a forged entry with a made-up hash: hash-mismatch at the forged entry', async () => {
    const { owner, entries } = await chain(3);
    const last = entries.at(-1) as AuditEntry;
    const forgedId = Bun.randomUUIDv7();
    await asTamperer(app.database, async (db) => {
      await db.execute(
        sql`insert into audit_entries (tenant_id, seq, id, occurred_at, action, actor_type, actor_id, actor_name, targets, context, changes, metadata, outcome, hash)
            select tenant_id, seq + 1, ${forgedId}, occurred_at, 'member.removed', actor_type, actor_id, actor_name, targets, context, changes, metadata, outcome, hash
            from audit_entries where id = ${last.id}`,
      );
      await db.execute(
        sql`update audit_chain_heads set last_seq = last_seq + 1 where tenant_id = ${owner.tenantId}`,
      );
    });
    const { server, cli } = await verdicts(owner);
    const expected = {
      valid: false,
      reason: 'hash-mismatch',
      firstBrokenSeq: last.seq + 1,
      firstBrokenId: forgedId,
    };
    expect(breakOf(server)).toEqual(expected);
    expect(breakOf(cli.verdict)).toEqual(expected);
  });

  test('the newest entries deleted after a checkpoint (head rolled back too): checkpoint-missing-entry', async () => {
    const { owner, entries } = await chain(6, [6]);
    const keep = entries[3] as AuditEntry;
    await asTamperer(app.database, async (db) => {
      await db.execute(
        sql`delete from audit_entries where tenant_id = ${owner.tenantId} and seq > ${keep.seq}`,
      );
      await db.execute(
        sql`update audit_chain_heads set last_seq = ${keep.seq}, last_hash = ${Buffer.from(keep.hash, 'hex')} where tenant_id = ${owner.tenantId}`,
      );
    });
    const { server, cli } = await verdicts(owner);
    const expected = {
      valid: false,
      reason: 'checkpoint-missing-entry',
      firstBrokenSeq: keep.seq + 1,
      firstBrokenId: undefined,
    };
    expect(breakOf(server)).toEqual(expected);
    expect(breakOf(cli.verdict)).toEqual(expected);
  });

  test('the newest entries deleted, head left as it was: head-mismatch (no checkpoint needed)', async () => {
    const { owner, entries } = await chain(5);
    const keep = entries[2] as AuditEntry;
    await asTamperer(app.database, (db) =>
      db.execute(sql`delete from audit_entries where tenant_id = ${owner.tenantId} and seq > ${keep.seq}`),
    );
    expect(breakOf(await verify(owner))).toEqual({
      valid: false,
      reason: 'head-mismatch',
      firstBrokenSeq: keep.seq + 1,
      firstBrokenId: undefined,
    });
  });

  test('tail and checkpoint rows deleted together: the database alone cannot tell, the log stream can', async () => {
    const { owner, entries } = await chain(6, [6]);
    const keep = entries[3] as AuditEntry;
    await asTamperer(app.database, async (db) => {
      await db.execute(
        sql`delete from audit_entries where tenant_id = ${owner.tenantId} and seq > ${keep.seq}`,
      );
      await db.execute(sql`delete from audit_checkpoints where tenant_id = ${owner.tenantId}`);
      await db.execute(
        sql`update audit_chain_heads set last_seq = ${keep.seq}, last_hash = ${Buffer.from(keep.hash, 'hex')} where tenant_id = ${owner.tenantId}`,
      );
    });
    // The threat model's known gap (decision 0017): nothing signed is left in the database.
    expect(await verify(owner)).toMatchObject({ valid: true, checked: 4, checkpoint: null }); // entries[0..3]
    // The checkpoint's log line survived: given to the offline verifier, the removal shows.
    const log = writeJson(tempDir(), 'wrapper.log', `${logLines.join('')}not json, as a real log may have\n`);
    const cli = await offline(owner, { checkpointsFile: log });
    expect(breakOf(cli.verdict)).toEqual({
      valid: false,
      reason: 'checkpoint-missing-entry',
      firstBrokenSeq: keep.seq + 1,
      firstBrokenId: undefined,
    });
    expect(cli.code).toBe(1);
  });

  test('a re-hashed tail (changed, then every later hash recomputed without the key): checkpoint-mismatch', async () => {
    const { owner, entries } = await chain(6, [2, 6]);
    const target = entries[3] as AuditEntry;
    await asTamperer(app.database, (db) =>
      db.execute(sql`update audit_entries set action = 'member.updated' where id = ${target.id}`),
    );
    await rehashFrom(owner, 3);
    const { server, cli } = await verdicts(owner);
    const last = entries.at(-1) as AuditEntry;
    // Every link agrees with the content; only the signed head differs. The change lies after the last
    // checkpoint that still matched (seq 2) and at or before the one that no longer does.
    const expected = {
      valid: false,
      reason: 'checkpoint-mismatch',
      firstBrokenSeq: last.seq,
      firstBrokenId: last.id,
    };
    expect(breakOf(server)).toEqual(expected);
    expect(server.attestedThroughSeq).toBe((entries[1] as AuditEntry).seq);
    expect(breakOf(cli.verdict)).toEqual(expected);
    expect(cli.verdict.attestedThroughSeq).toBe((entries[1] as AuditEntry).seq);
  });

  test('without checkpoints the offline verifier checks only the links, and says so', async () => {
    const { owner } = await chain(3);
    const dir = tempDir();
    const file = writeExport(dir, await entriesOf(app.database, owner.tenantId));
    const key = (await app.request('GET', '/v1/audit-logs/public-key')).body;
    // A PEM given as the argument itself (it starts with dashes: `--public-key=<pem>`).
    const result = await runOfflineVerifier([file, `--public-key=${key.publicKeyPem}`]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('without --checkpoints only the chain is checked');
  });

  test('a malformed export line is reported, and a bad command line exits 2', async () => {
    const { owner } = await chain(2);
    const dir = tempDir();
    const entries = await entriesOf(app.database, owner.tenantId);
    const file = writeJson(dir, 'export.ndjson', `${JSON.stringify(entries[0])}\n{"not": "an entry"}\n`);
    const key = writeJson(
      dir,
      'key.pem',
      (await app.request('GET', '/v1/audit-logs/public-key')).body.publicKeyPem,
    );
    const result = await runOfflineVerifier([file, '--public-key', key]);
    expect(breakOf(result.verdict)).toMatchObject({
      valid: false,
      reason: 'malformed-entry',
      firstBrokenSeq: 2,
    });
    expect(result.code).toBe(1);
    const child = Bun.spawn(['bun', 'server/cli/audit-verify.ts', file], { stdout: 'pipe', stderr: 'pipe' });
    expect(await child.exited).toBe(2);
  });
});
