import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import type { RequestRole } from '../../../db/client.ts';
import { sqlStateOf } from '../../../db/errors.ts';
import { withTenant } from '../../../db/tenant.ts';
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
import {
  joinWithRole,
  type SignedUp,
  startTestApp,
  type TestApp,
  testConfig,
  testRuntime,
} from '../../testing/harness.ts';
import { CHECKPOINT_LOG_MESSAGE, checkpointPayload, keyIdOf } from './chain.ts';
import { checkpointMovedChains } from './checkpoints.ts';
import type { AuditCheckpoint } from './model.ts';
import { recordAudit, systemWho } from './record.ts';
import { generateAuditSigningKey } from './signing-key.ts';

const engine = testConfig.DATABASE_URL ? 'Postgres' : 'PGlite';
let app: TestApp;
const logLines: string[] = [];
const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });
const deps = () => ({ database: app.database, signer: testAuditSigner, logger });

beforeAll(async () => {
  app = await startTestApp({ logger });
});
afterAll(() => app.dispose());

const checkpointsOf = async (owner: SignedUp, query = '') =>
  (await app.request('GET', `/v1/audit-logs/checkpoints${query}`, { token: owner.token })).body;

describe(`audit checkpoints (${engine})`, () => {
  test('the public key is public, and its keyId is the fingerprint checkpoints name', async () => {
    const response = await app.request('GET', '/v1/audit-logs/public-key');
    expect(response.status).toBe(200);
    const key = createPublicKey(response.body.publicKeyPem);
    expect(response.body.keyId).toBe(keyIdOf(key));
    expect(response.body.keyId).toBe(testAuditSigner.keyId);
    expect(response.body).toMatchObject({ algorithm: 'Ed25519', jwk: { kty: 'OKP', crv: 'Ed25519' } });
    expect(keyIdOf(createPublicKey({ key: response.body.jwk, format: 'jwk' }))).toBe(response.body.keyId);
  });

  test('the job signs only the chains that moved, each once, and logs every checkpoint', async () => {
    const a = await app.signUp();
    const b = await app.signUp();
    const quiet = await app.signUp();
    await checkpointMovedChains(deps()); // whatever earlier tests and the sign-ups left
    await recordEntries(app.database, a.tenantId, 3);
    await recordEntries(app.database, b.tenantId, 2);
    const mine = (list: AuditCheckpoint[]) =>
      list.filter((checkpoint) => [a, b, quiet].some((owner) => owner.tenantId === checkpoint.tenantId));

    logLines.length = 0;
    const first = mine(await checkpointMovedChains(deps()));
    const [entriesA, entriesB] = [
      await entriesOf(app.database, a.tenantId),
      await entriesOf(app.database, b.tenantId),
    ];
    expect(first.map((checkpoint) => [checkpoint.tenantId, checkpoint.seq, checkpoint.hash]).sort()).toEqual(
      [
        [a.tenantId, entriesA.at(-1)?.seq, entriesA.at(-1)?.hash],
        [b.tenantId, entriesB.at(-1)?.seq, entriesB.at(-1)?.hash],
      ].sort() as never,
    );
    const publicKey = createPublicKey(
      (await app.request('GET', '/v1/audit-logs/public-key')).body.publicKeyPem,
    );
    for (const checkpoint of first) {
      expect(checkpoint.reason).toBe('periodic');
      expect(
        verify(
          null,
          checkpointPayload(checkpoint),
          publicKey,
          Buffer.from(checkpoint.signature, 'base64url'),
        ),
      ).toBe(true);
    }
    // Published outside the table: one structured line per checkpoint, with a stable message.
    const logged = logLines
      .map((line) => JSON.parse(line))
      .filter((line) => line.msg === CHECKPOINT_LOG_MESSAGE);
    expect(logged.map((line) => line.checkpoint)).toEqual(expect.arrayContaining(first));

    expect(mine(await checkpointMovedChains(deps()))).toEqual([]); // nothing moved
    await recordEntries(app.database, a.tenantId, 1);
    const second = mine(await checkpointMovedChains(deps()));
    expect(second.map((checkpoint) => [checkpoint.tenantId, checkpoint.seq])).toEqual([
      [a.tenantId, entriesA.length + 1],
    ]);
    // What the API lists, newest first, is what was signed.
    // (the oldest of each tenant's list signed what its sign-up recorded, before this test's entries)
    expect((await checkpointsOf(a)).items.slice(0, 2)).toEqual([
      second[0],
      first.find((c) => c.tenantId === a.tenantId),
    ]);
    expect((await checkpointsOf(quiet)).items.map((checkpoint: { seq: number }) => checkpoint.seq)).toEqual([
      (await entriesOf(app.database, quiet.tenantId)).length,
    ]);
  });

  test('on demand: the head is signed now (201), asking again without change answers the same one (200)', async () => {
    const owner = await app.signUp();
    const held = await entriesOf(app.database, owner.tenantId);
    const empty = await app.request('POST', '/v1/audit-logs/checkpoints', { token: owner.token });
    expect(empty.status).toBe(201);
    // Before any entry, the empty chain (seq 0, the zero hash) is signed.
    expect(empty.body).toMatchObject({
      tenantId: owner.tenantId,
      seq: held.length,
      hash: held.at(-1)?.hash ?? '0'.repeat(64),
      reason: 'on-demand',
    });
    await recordEntries(app.database, owner.tenantId, 2);
    const signed = await app.request('POST', '/v1/audit-logs/checkpoints', { token: owner.token });
    expect(signed.status).toBe(201);
    const again = await app.request('POST', '/v1/audit-logs/checkpoints', { token: owner.token });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(signed.body);
    // Paged, newest first.
    const page = await checkpointsOf(owner, '?limit=1');
    expect(page.items).toEqual([signed.body]);
    expect(page.nextCursor).toBe(String(signed.body.seq));
    const next = await checkpointsOf(owner, `?limit=1&cursor=${page.nextCursor}`);
    expect(next).toEqual({ items: [empty.body], nextCursor: null });
    expect(await app.request('GET', '/v1/audit-logs/verify', { token: owner.token })).toMatchObject({
      status: 200,
      body: { valid: true, checked: held.length + 2, attestedThroughSeq: held.length + 2 },
    });
  });

  test('a forged checkpoint (another key, under the real keyId or its own) is reported, by /verify and offline', async () => {
    const forger = generateKeyPairSync('ed25519');
    for (const keyId of [testAuditSigner.keyId, keyIdOf(forger.publicKey)]) {
      const owner = await app.signUp();
      await recordEntries(app.database, owner.tenantId, 3);
      const entries = await entriesOf(app.database, owner.tenantId);
      const target = entries[1];
      const unsigned = {
        tenantId: owner.tenantId,
        seq: target?.seq as number,
        hash: 'ab'.repeat(32),
        signedAt: new Date().toISOString(),
        reason: 'periodic' as const,
        keyId,
      };
      const signature = sign(null, checkpointPayload(unsigned), forger.privateKey);
      await asTamperer(app.database, (db) =>
        db.execute(
          sql`insert into audit_checkpoints (tenant_id, seq, hash, signed_at, reason, key_id, signature)
              values (${owner.tenantId}, ${unsigned.seq}, ${Buffer.from(unsigned.hash, 'hex')}, ${unsigned.signedAt}, 'periodic', ${keyId}, ${signature})`,
        ),
      );
      const verdict = (await app.request('GET', '/v1/audit-logs/verify', { token: owner.token })).body;
      expect(verdict).toMatchObject({
        valid: false,
        reason: 'checkpoint-signature-invalid',
        firstBrokenSeq: target?.seq,
      });
      const dir = tempDir();
      const cli = await runOfflineVerifier([
        writeExport(dir, entries),
        '--public-key',
        writeJson(dir, 'key.json', (await app.request('GET', '/v1/audit-logs/public-key')).body),
        '--checkpoints',
        writeJson(dir, 'checkpoints.json', await checkpointsOf(owner)),
      ]);
      expect(cli.code).toBe(1);
      expect(cli.verdict).toMatchObject({
        valid: false,
        reason: 'checkpoint-signature-invalid',
        firstBrokenSeq: target?.seq,
      });
    }
  });

  test('after a key rotation, older checkpoints verify only with the previous public key configured', async () => {
    const owner = await app.signUp();
    await recordEntries(app.database, owner.tenantId, 2);
    await app.request('POST', '/v1/audit-logs/checkpoints', { token: owner.token });
    const held = (await entriesOf(app.database, owner.tenantId)).length;
    const previous = testAuditSigner.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    const verifyWith = async (options: { auditPreviousPublicKeys?: string }) => {
      const rotated = await testRuntime(app.database, {
        auditSigningKey: generateAuditSigningKey(),
        ...options,
      });
      try {
        const response = await rotated.app.handle(
          new Request('http://localhost/v1/audit-logs/verify', {
            headers: { authorization: `Bearer ${owner.token}` },
          }),
        );
        const key = await rotated.app.handle(new Request('http://localhost/v1/audit-logs/public-key'));
        return { verdict: await response.json(), key: await key.json() };
      } finally {
        await rotated.stop();
      }
    };
    const without = await verifyWith({});
    expect(without.verdict).toMatchObject({ valid: false, reason: 'checkpoint-signature-invalid' });
    const withPrevious = await verifyWith({ auditPreviousPublicKeys: previous });
    expect(withPrevious.verdict).toMatchObject({ valid: true, checked: held, attestedThroughSeq: held });
    expect(withPrevious.key.keyId).not.toBe(testAuditSigner.keyId);
    expect(withPrevious.key.previousKeys).toEqual([
      { keyId: testAuditSigner.keyId, publicKeyPem: testAuditSigner.publicKeyPem },
    ]);
  });

  test('500 concurrent appends in one tenant form one contiguous chain that verifies', async () => {
    const owner = await app.signUp();
    const before = (await entriesOf(app.database, owner.tenantId)).length;
    const results = await Promise.all(
      Array.from({ length: 500 }, (_, index) =>
        withTenant(app.database, owner.tenantId, (db) =>
          recordAudit(db, owner.tenantId, systemWho('test.concurrency'), {
            action: 'credits.consumed',
            targets: [{ type: 'credit_transaction', id: Bun.randomUUIDv7(), name: null }],
            metadata: { index },
          }),
        ),
      ),
    );
    const seqs = results.map((result) => result.seq).sort((x, y) => x - y);
    expect(seqs).toEqual(Array.from({ length: 500 }, (_, index) => before + index + 1));
    const entries = await entriesOf(app.database, owner.tenantId);
    expect(entries.map((entry) => entry.seq)).toEqual(
      Array.from({ length: before + 500 }, (_, index) => index + 1),
    );
    await app.request('POST', '/v1/audit-logs/checkpoints', { token: owner.token });
    const verdict = (await app.request('GET', '/v1/audit-logs/verify', { token: owner.token })).body;
    expect(verdict).toMatchObject({ valid: true, checked: before + 500, attestedThroughSeq: before + 500 });
  });
});

describe(`who may see and verify a chain (${engine})`, () => {
  let a: SignedUp;
  let b: SignedUp;
  beforeAll(async () => {
    a = await app.signUp();
    b = await app.signUp();
    await recordEntries(app.database, a.tenantId, 4);
    await recordEntries(app.database, b.tenantId, 1);
    await app.request('POST', '/v1/audit-logs/checkpoints', { token: a.token });
  });

  test("tenant B sees only its own checkpoints and verifies only its own chain, never A's", async () => {
    const page = await checkpointsOf(b);
    expect(page.items.every((checkpoint: AuditCheckpoint) => checkpoint.tenantId === b.tenantId)).toBe(true);
    expect(JSON.stringify(page)).not.toContain(a.tenantId);
    const verdict = (await app.request('GET', '/v1/audit-logs/verify', { token: b.token })).body;
    const ownEntries = (await entriesOf(app.database, b.tenantId)).length;
    expect(verdict).toMatchObject({ valid: true, checked: ownEntries, checkpoint: null });
    // The tenant is the token's: nothing in the request can name another one.
    const named = await app.request('GET', `/v1/audit-logs/checkpoints?tenantId=${a.tenantId}`, {
      token: b.token,
    });
    expect(named.status).toBe(422);
    // Nor can B's request transaction read A's rows.
    const rows = await withTenant(app.database, b.tenantId, (db) =>
      db.execute(sql`select count(*)::int as n from audit_checkpoints where tenant_id = ${a.tenantId}`),
    );
    expect(JSON.stringify(rows)).toContain('"n":0');
  });

  test('a member without audit:read gets 403 on verify and on the checkpoints', async () => {
    const member = await joinWithRole(app, a.tenantId, 'member');
    for (const [method, path] of [
      ['GET', '/v1/audit-logs/verify'],
      ['GET', '/v1/audit-logs/checkpoints'],
      ['POST', '/v1/audit-logs/checkpoints'],
    ] as const) {
      const response = await app.request(method, path, { token: member.token });
      expect(response.status).toBe(403);
      expect(response.body.type).toBe('/problems/forbidden');
    }
  });

  test('request roles cannot update, delete or truncate audit entries, nor write checkpoints', async () => {
    const attempt = (role: RequestRole, statement: ReturnType<typeof sql>) =>
      app.database
        .transaction({ role, tenantId: a.tenantId }, (db) => db.execute(statement))
        .then(
          () => null,
          (error: unknown) => error as Error,
        );
    for (const role of ['app_user', 'app_admin', 'app_identity', 'app_relay', 'app_audit'] as const) {
      const statements: [string, ReturnType<typeof sql>][] = [
        ['update entries', sql`update audit_entries set action = 'x' where tenant_id = ${a.tenantId}`],
        ['delete entries', sql`delete from audit_entries where tenant_id = ${a.tenantId}`],
        ['truncate entries', sql`truncate audit_entries`],
        ['delete checkpoints', sql`delete from audit_checkpoints where tenant_id = ${a.tenantId}`],
        ['update checkpoints', sql`update audit_checkpoints set seq = 1 where tenant_id = ${a.tenantId}`],
      ];
      for (const [what, statement] of statements) {
        const error = await attempt(role, statement);
        expect({ role, what, state: sqlStateOf(error) }).toEqual({ role, what, state: '42501' }); // insufficient_privilege
        expect(String(error?.cause ?? error)).toContain('permission denied for table');
      }
    }
    const forged = await attempt(
      'app_user',
      sql`insert into audit_checkpoints (tenant_id, seq, hash, signed_at, reason, key_id, signature)
          values (${a.tenantId}, 1, '\\x00', now(), 'periodic', 'x', '\\x00')`,
    );
    expect(sqlStateOf(forged)).toBe('42501');
    // Even the owner is stopped by the trigger while it is on.
    const owner = await app.database.owner
      .execute(sql`delete from audit_entries where tenant_id = ${a.tenantId}`)
      .then(
        () => null,
        (error: unknown) => error as Error,
      );
    expect(sqlStateOf(owner)).toBe('42501');
    expect(String(owner?.cause ?? owner)).toContain('audit entries cannot be changed or removed');
  });
});
