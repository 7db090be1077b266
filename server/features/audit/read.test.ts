import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { generateKeyPairSync } from 'node:crypto';
import { withTenant } from '../../../db/tenant.ts';
import { joinWithRole, type SignedUp, startTestApp, type TestApp } from '../../testing/harness.ts';
import { ChainVerifier } from './chain.ts';
import { CSV_COLUMNS } from './export.ts';
import type { AuditEntry, AuditTarget } from './model.ts';
import { type AuditRecord, type AuditWho, recordAudit } from './record.ts';

let app: TestApp;
let owner: SignedUp;
let other: SignedUp;

const NO_CONTEXT = { requestId: null, ip: null, userAgent: null };
const person = (id: string, name: string | null): AuditWho => ({
  actor: { type: 'user', id, name },
  context: NO_CONTEXT,
});
// Actor ids of this file's own entries: whatever else the routes record, filters on them are exact.
const alice = person('t-alice', 'Alice Martin');
const bob = person('t-bob', 'Bob Stone, "the builder"');
const mallory = person('t-mallory', '=HYPERLINK("http://evil.test","click")\nline two');
const organization = (id: string, name: string): AuditTarget => ({ type: 'organization', id, name });
const user = (id: string, name: string): AuditTarget => ({ type: 'user', id, name });

async function record(tenantId: string, who: AuditWho, entry: AuditRecord) {
  return withTenant(app.database, tenantId, (db) => recordAudit(db, tenantId, who, entry));
}

/** An export's status, headers and text (read whole: the harness would parse NDJSON as JSON). */
async function exportOf(query: string, token = owner.token) {
  const response = await app.handle(
    new Request(`http://localhost/v1/audit-logs/export${query ? `?${query}` : ''}`, {
      headers: { authorization: `Bearer ${token}` },
    }),
  );
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    body: response.headers.get('content-type')?.includes('problem') ? JSON.parse(text) : undefined,
  };
}

const ndjson = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditEntry);

async function list(query: string, token = owner.token) {
  return app.request('GET', `/v1/audit-logs${query ? `?${query}` : ''}`, { token });
}

/** Every page of a query, following nextCursor. */
async function listAll(query: string, limit = 3): Promise<AuditEntry[]> {
  const items: AuditEntry[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 100; pages++) {
    const page = await list(`${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(page.status).toBe(200);
    expect(page.body.items.length).toBeLessThanOrEqual(limit);
    items.push(...page.body.items);
    cursor = page.body.nextCursor;
    if (cursor === null) return items;
  }
  throw new Error('more than 100 pages');
}

const actions = (items: AuditEntry[]) => items.map((item) => item.action);

let beforeSecond: string;
let longName: string;
let longId: string;

beforeAll(async () => {
  app = await startTestApp();
  owner = await app.signUp({ name: 'Owner Person' });
  other = await app.signUp({ name: 'Other Owner' });
  await record(owner.tenantId, alice, {
    action: 'organization.created',
    targets: [organization('org-1', 'Sales Team')],
  });
  await record(owner.tenantId, bob, {
    action: 'member.updated',
    targets: [user('user-9', 'Carol 100%_Done')],
    changes: { roles: [['viewer'], ['admin']] },
    outcome: 'failure',
  });
  await record(owner.tenantId, alice, {
    action: 'organization.updated',
    targets: [organization('org-1', 'Sales, Europe')],
    changes: { name: ['Sales Team', 'Sales, Europe'] },
  });
  // One target of type organization and another with id org-2: no single target is both.
  await record(owner.tenantId, bob, {
    action: 'invitation.accepted',
    targets: [{ type: 'invitation', id: 'org-2', name: 'Invitation' }, organization('org-3', 'Support')],
  });
  await Bun.sleep(5);
  beforeSecond = new Date().toISOString();
  await Bun.sleep(5);
  await record(owner.tenantId, mallory, {
    action: 'api_key.created',
    targets: [{ type: 'api_key', id: 'key-1', name: '-2+3\nsecond line' }],
    metadata: { note: '@SUM(A1:A9)' },
  });
  // Longer than the index keys hold: found through the full text (migration 0033).
  longName = `Long ${'ü'.repeat(600)} needle-at-the-end`;
  longId = `id-${'x'.repeat(150)}`;
  await record(owner.tenantId, alice, {
    action: 'role.created',
    targets: [{ type: 'role', id: longId, name: longName }],
  });
  // Tenant B has its own entries, with the same actor ids.
  await record(other.tenantId, alice, {
    action: 'organization.created',
    targets: [organization('org-b', 'Tenant B Sales')],
  });
});
afterAll(() => app.dispose());

describe('GET /v1/audit-logs', () => {
  test('answers entries newest first, in the API shape, paged by cursor', async () => {
    const page = await list('actorId=t-alice&limit=2');
    expect(page.status).toBe(200);
    expect(actions(page.body.items)).toEqual(['role.created', 'organization.updated']);
    const [first] = page.body.items as AuditEntry[];
    expect(first).toMatchObject({
      tenantId: owner.tenantId,
      action: 'role.created',
      actor: { type: 'user', id: 't-alice', name: 'Alice Martin' },
      targets: [{ type: 'role', id: longId, name: longName }],
      context: NO_CONTEXT,
      changes: {},
      metadata: {},
      outcome: 'success',
    });
    expect(first?.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(page.body.nextCursor).toBe(String(page.body.items[1].seq));
    const next = await list(`actorId=t-alice&limit=2&cursor=${page.body.nextCursor}`);
    expect(actions(next.body.items)).toEqual(['organization.created']);
    expect(next.body.nextCursor).toBeNull();
  });

  test('pages of the whole trail are in strictly decreasing seq, without gaps or repeats', async () => {
    const all = await listAll('outcome=success', 2);
    const seqs = all.map((item) => item.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
    expect(new Set(seqs).size).toBe(seqs.length);
    const mine = all.filter((item) => item.actor.id?.startsWith('t-'));
    expect(actions(mine)).toEqual([
      'role.created',
      'api_key.created',
      'invitation.accepted',
      'organization.updated',
      'organization.created',
    ]);
  });

  test('each filter, and filters together', async () => {
    const only = async (query: string) => actions((await list(`${query}&limit=100`)).body.items);
    expect(await only('actorId=t-bob')).toEqual(['invitation.accepted', 'member.updated']);
    expect(await only('action=organization.created&actorId=t-alice')).toEqual(['organization.created']);
    expect(await only('targetType=organization')).toEqual([
      'invitation.accepted',
      'organization.updated',
      'organization.created',
    ]);
    expect(await only('targetId=org-1')).toEqual(['organization.updated', 'organization.created']);
    expect(await only('targetType=user&targetId=user-9')).toEqual(['member.updated']);
    // The same target must match both: type and id of two different targets do not.
    expect(await only('targetType=organization&targetId=org-2')).toEqual([]);
    expect(await only('targetType=invitation&targetId=org-2')).toEqual(['invitation.accepted']);
    expect(await only(`targetId=${longId}`)).toEqual(['role.created']);
    expect(await only(`targetType=role&targetId=${longId}`)).toEqual(['role.created']);
    expect(await only('outcome=failure&actorId=t-bob')).toEqual(['member.updated']);
    expect(await only(`actorId=t-alice&from=${beforeSecond}`)).toEqual(['role.created']);
    expect(await only(`actorId=t-alice&to=${beforeSecond}`)).toEqual([
      'organization.updated',
      'organization.created',
    ]);
    const far = '2999-01-01T00:00:00Z';
    expect(await only(`actorId=t-alice&from=${beforeSecond}&to=${far}`)).toEqual(['role.created']);
    expect(await only(`actorId=t-alice&from=${beforeSecond}&to=${beforeSecond}`)).toEqual([]);
    expect(await only('actorId=t-alice&action=member.updated')).toEqual([]);
  });

  test('q: case-insensitive substring of actor names, target names and the action', async () => {
    const search = async (q: string) =>
      actions((await list(`q=${encodeURIComponent(q)}&limit=100`)).body.items).filter(
        (action) => action !== 'audit.read' && action !== 'audit.exported',
      );
    expect(await search('ALICE')).toEqual(['role.created', 'organization.updated', 'organization.created']);
    expect(await search('sales')).toEqual(['organization.updated', 'organization.created']);
    expect(await search('sales, eu')).toEqual(['organization.updated']);
    expect(await search('zation.cre')).toEqual(['organization.created']);
    expect(await search('"the builder"')).toEqual(['invitation.accepted', 'member.updated']);
    // % and _ are themselves, not wildcards.
    expect(await search('100%_')).toEqual(['member.updated']);
    expect(await search('%')).toEqual(['member.updated']);
    expect(await search('s_les')).toEqual([]);
    // An entry whose text is too long for the index is still found.
    expect(await search('needle-at-the-end')).toEqual(['role.created']);
    expect(await search('ÜÜÜ')).toEqual(['role.created']);
    expect(await search('no such words')).toEqual([]);
    // Blank is no search.
    const blank = await list('q=%20&actorId=t-bob');
    expect(actions(blank.body.items)).toEqual(['invitation.accepted', 'member.updated']);
  });

  test('each bad filter is 422 problem+json naming the field', async () => {
    const cases: Array<[string, string]> = [
      ['action=nope.nothing', '/action'],
      ['outcome=maybe', '/outcome'],
      ['from=yesterday', '/from'],
      ['to=2026-13-01T00:00:00Z', '/to'],
      ['from=2026-02-30T00:00:00Z', '/from'],
      ['from=0000-01-01T00:00:00Z', '/from'],
      ['from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z', '/from'],
      ['limit=101', '/limit'],
      ['limit=0', '/limit'],
      ['limit=ten', '/limit'],
      ['cursor=abc', '/cursor'],
      ['cursor=0', '/cursor'],
      ['cursor=-5', '/cursor'],
      ['cursor=9999999999999999', '/cursor'],
      [`q=${'x'.repeat(201)}`, '/q'],
      ['actorId=', '/actorId'],
      [`targetId=${'y'.repeat(201)}`, '/targetId'],
    ];
    for (const [query, field] of cases) {
      const response = await list(query);
      expect({ query, status: response.status }).toEqual({ query, status: 422 });
      expect(response.headers.get('content-type')).toStartWith('application/problem+json');
      expect(response.body.type).toBe('/problems/validation-failed');
      expect({ query, paths: response.body.errors.map((error: { path: string }) => error.path) }).toEqual({
        query,
        paths: [field],
      });
    }
    const exported = await exportOf('format=xml');
    expect(exported.status).toBe(422);
    expect(exported.body.errors[0].path).toBe('/format');
    const badAction = await exportOf('action=nope');
    expect(badAction.status).toBe(422);
    expect(badAction.body.errors[0].path).toBe('/action');
  });

  test('a list is recorded as audit.read with its filters', async () => {
    const read = await list('actorId=t-bob&outcome=failure&q=carol&limit=5');
    expect(read.status).toBe(200);
    const recorded = await list('action=audit.read&limit=1');
    expect(recorded.body.items[0]).toMatchObject({
      action: 'audit.read',
      actor: { type: 'user', id: owner.userId },
      targets: [],
      metadata: {
        filters: { actorId: 't-bob', outcome: 'failure', q: 'carol' },
        limit: 5,
        returned: 1,
      },
      outcome: 'success',
    });
    expect(recorded.body.items[0].context.requestId).toEqual(expect.any(String));
  });

  test('tenant B sees none of A’s entries, by list or export', async () => {
    const listed = await list('limit=100', other.token);
    expect(listed.status).toBe(200);
    expect(listed.body.items.every((item: AuditEntry) => item.tenantId === other.tenantId)).toBe(true);
    const mine = listed.body.items.filter((item: AuditEntry) => item.actor.id === 't-alice');
    expect(mine.map((item: AuditEntry) => item.targets[0]?.name)).toEqual(['Tenant B Sales']);
    expect(JSON.stringify(listed.body)).not.toContain('Sales Team');
    const exported = await exportOf('', other.token);
    expect(exported.status).toBe(200);
    const lines = ndjson(exported.text);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((entry) => entry.tenantId === other.tenantId)).toBe(true);
    expect(exported.text).not.toContain(owner.tenantId);
    expect(exported.text).not.toContain('Sales Team');
    // A's actor ids name nothing in B.
    expect(ndjson((await exportOf('actorId=t-bob', other.token)).text)).toEqual([]);
  });

  test('members without audit:read get 403 on list and export; admins may read', async () => {
    for (const role of ['member', 'viewer', 'billing'] as const) {
      const member = await joinWithRole(app, owner.tenantId, role);
      for (const path of ['/v1/audit-logs', '/v1/audit-logs?action=nope']) {
        const response = await app.request('GET', path, { token: member.token });
        expect({ role, path, status: response.status }).toEqual({ role, path, status: 403 });
        expect(response.body.type).toBe('/problems/forbidden');
      }
      for (const query of ['', 'action=nope']) {
        const response = await exportOf(query, member.token);
        expect({ role, query, status: response.status }).toEqual({ role, query, status: 403 });
      }
    }
    const admin = await joinWithRole(app, owner.tenantId, 'admin');
    expect((await list('limit=1', admin.token)).status).toBe(200);
  });
});

describe('GET /v1/audit-logs/catalog', () => {
  test('serves every action of the catalog, without a token', async () => {
    const response = await app.request('GET', '/v1/audit-logs/catalog');
    expect(response.status).toBe(200);
    expect(response.body.actions).toContainEqual({
      action: 'audit.read',
      description: 'The audit trail was read.',
      targets: [],
    });
    expect(response.body.actions).toContainEqual(
      expect.objectContaining({ action: 'organization.created', targets: ['organization'] }),
    );
  });
});

/** RFC 4180 rows of a CSV text (quoted fields, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (quoted) {
      if (char === '"' && text[index + 1] === '"') {
        cell += '"';
        index++;
      } else if (char === '"') quoted = false;
      else cell += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      row.push(cell);
      cell = '';
    } else if (char === '\r' && text[index + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      index++;
    } else cell += char;
  }
  return rows;
}

describe('GET /v1/audit-logs/export', () => {
  test('NDJSON: every entry oldest first with seq and hash; an unfiltered export verifies as a chain', async () => {
    const response = await exportOf('format=ndjson');
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toEqual(expect.any(String));
    expect(response.headers.get('content-type')).toBe('application/x-ndjson');
    expect(response.headers.get('content-disposition')).toMatch(
      new RegExp(`^attachment; filename="audit-log-${owner.tenantId}-\\d{8}T\\d{6}Z\\.ndjson"$`),
    );
    expect(response.text.endsWith('\n')).toBe(true);
    const entries = ndjson(response.text);
    expect(entries.map((entry) => entry.seq)).toEqual(entries.map((_, index) => index + 1));
    // The export records itself before it starts: its own entry is the last one.
    expect(entries.at(-1)).toMatchObject({
      action: 'audit.exported',
      metadata: { format: 'ndjson', filters: {} },
    });
    const verifier = new ChainVerifier({
      tenantId: owner.tenantId,
      checkpoints: [],
      publicKey: generateKeyPairSync('ed25519').publicKey,
    });
    for (const entry of entries) expect(verifier.add(entry)).toBe(true);
    expect(verifier.finish()).toMatchObject({ valid: true, checked: entries.length });
    // The same entries as the list answers.
    const listed = (await list('actorId=t-bob&limit=100')).body.items as AuditEntry[];
    expect(entries.filter((entry) => entry.actor.id === 't-bob')).toEqual([...listed].reverse());
  });

  test('filters apply; the export is recorded as audit.exported with them', async () => {
    const entries = ndjson((await exportOf('actorId=t-alice&q=sales')).text);
    expect(actions(entries)).toEqual(['organization.created', 'organization.updated']);
    const recorded = await list('action=audit.exported&limit=1');
    expect(recorded.body.items[0]).toMatchObject({
      actor: { id: owner.userId },
      metadata: { format: 'ndjson', filters: { actorId: 't-alice', q: 'sales' } },
    });
    const none = await exportOf('actorId=nobody');
    expect(none.status).toBe(200);
    expect(none.text).toBe('');
  });

  test('CSV: header, RFC 4180 quoting, JSON columns, formula cells neutralised', async () => {
    const none = await exportOf('format=csv&actorId=nobody');
    expect(none.status).toBe(200);
    expect(none.text).toBe(`${CSV_COLUMNS.join(',')}\r\n`);

    const all = await exportOf('format=csv');
    expect(all.headers.get('content-type')).toBe('text/csv; charset=utf-8; header=present');
    expect(all.headers.get('content-disposition')).toMatch(/filename="audit-log-.+\.csv"$/);
    const rows = parseCsv(all.text);
    expect(rows[0]).toEqual([...CSV_COLUMNS]);
    const byActor = (id: string) => rows.filter((row) => row[6] === id);
    const column = (name: (typeof CSV_COLUMNS)[number]) => CSV_COLUMNS.indexOf(name);
    for (const row of rows) expect(row.length).toBe(CSV_COLUMNS.length);

    const [evil] = byActor('t-mallory');
    expect(evil?.[column('actorName')]).toBe(`'=HYPERLINK("http://evil.test","click")\nline two`);
    expect(JSON.parse(evil?.[column('targets')] ?? '')).toEqual([
      { type: 'api_key', id: 'key-1', name: '-2+3\nsecond line' },
    ]);
    expect(JSON.parse(evil?.[column('metadata')] ?? '')).toEqual({ note: '@SUM(A1:A9)' });
    const builder = byActor('t-bob');
    expect(builder.map((row) => row[column('actorName')])).toEqual([
      'Bob Stone, "the builder"',
      'Bob Stone, "the builder"',
    ]);
    expect(JSON.parse(builder[0]?.[column('changes')] ?? '')).toEqual({ roles: [['viewer'], ['admin']] });
    expect(builder[0]?.[column('outcome')]).toBe('failure');
    // Raw RFC 4180: quotes doubled, a field with a comma or a line break quoted, the formula prefixed.
    expect(all.text).toContain(',"Bob Stone, ""the builder""",');
    expect(all.text).toContain(`,"'=HYPERLINK(""http://evil.test"",""click"")\nline two",`);
    const seqs = rows.slice(1).map((row) => Number(row[0]));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });

  test('a reader that goes away stops the export', async () => {
    const response = await app.handle(
      new Request('http://localhost/v1/audit-logs/export', {
        headers: { authorization: `Bearer ${owner.token}` },
      }),
    );
    expect(response.status).toBe(200);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    await reader.cancel();
    // The app still answers (nothing left holding a connection).
    expect((await list('limit=1')).status).toBe(200);
  });
});
