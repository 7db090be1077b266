import { sql } from 'drizzle-orm';
import type { ScopedDb } from '../../db/client.ts';
import { auditActions } from '../features/audit/catalog.ts';

const NAMES = [
  'Alice Martin',
  'Bob Stone',
  'Chloé Durand',
  'Dmitri Ivanov',
  'Emma Brown',
  'Farid Haddad',
  'Grace Hopper',
  'Hiro Tanaka',
  'Ines Costa',
  'Jonas Berg',
  'Kemal Aydin',
  'Lena Fischer',
  'Mateo Silva',
  'Nora Quinn',
  'Oscar Wilde',
  'Priya Nair',
  'Quentin Blake',
  'Rosa Parks',
  'Sven Olsen',
  'Tara Singh',
];
const TARGET_TYPES = ['user', 'organization', 'api_key', 'role', 'invitation', 'credit_transaction'];

/**
 * Appends `count` synthetic entries to a tenant's trail in one statement, as the owner, for volume tests
 * and benchmarks only: the hashes are fake (the chain does not verify), the head row is moved past them
 * so `recordAudit` keeps appending after. Actors, actions, target types and names cycle through small
 * sets; one entry in 50 is a failure; occurredAt grows by a second per entry from `start`.
 */
export async function insertSyntheticEntries(
  owner: ScopedDb,
  tenantId: string,
  count: number,
  options: { start?: Date; metadataBytes?: number } = {},
): Promise<{ firstSeq: number; lastSeq: number }> {
  const rows = await owner.execute(
    sql`select coalesce(max(seq), 0)::bigint as last from audit_entries where tenant_id = ${tenantId}::uuid`,
  );
  const list = (Array.isArray(rows) ? rows : (rows as { rows: unknown[] }).rows) as Array<{ last: unknown }>;
  const after = Number(list[0]?.last ?? 0);
  const first = after + 1;
  const last = after + count;
  const start = (options.start ?? new Date(Date.UTC(2026, 0, 1))).toISOString();
  const padding = 'x'.repeat(options.metadataBytes ?? 0);
  const actions = sql.raw(`array[${auditActions.map((action) => `'${action}'`).join(',')}]`);
  const names = sql.raw(`array[${NAMES.map((name) => `'${name}'`).join(',')}]`);
  const types = sql.raw(`array[${TARGET_TYPES.map((type) => `'${type}'`).join(',')}]`);
  await owner.execute(sql`
    insert into audit_entries (tenant_id, seq, id, occurred_at, action, actor_type, actor_id, actor_name,
                               targets, context, changes, metadata, outcome, hash)
    select ${tenantId}::uuid, s, gen_random_uuid(), ${start}::timestamptz + s * interval '1 second',
           (${actions})[1 + s % ${auditActions.length}],
           'user', 'actor-' || (s % ${NAMES.length}), (${names})[1 + s % ${NAMES.length}],
           jsonb_build_array(jsonb_build_object(
             'type', (${types})[1 + (s / 7) % ${TARGET_TYPES.length}],
             'id', md5(${tenantId} || s::text),
             'name', 'Target ' || (s % 1000))),
           jsonb_build_object('requestId', md5(s::text), 'ip', '10.0.0.1', 'userAgent', 'synthetic'),
           '{}'::jsonb,
           case when ${padding.length} > 0 then jsonb_build_object('padding', ${padding}::text) else '{}'::jsonb end,
           case when s % 50 = 0 then 'failure' else 'success' end,
           sha256(int8send(s))
    from generate_series(${first}::bigint, ${last}::bigint) as s`);
  await owner.execute(sql`
    insert into audit_chain_heads (tenant_id, last_seq, last_hash)
    values (${tenantId}::uuid, ${last}::bigint, sha256(int8send(${last}::bigint)))
    on conflict (tenant_id) do update set last_seq = excluded.last_seq, last_hash = excluded.last_hash`);
  return { firstSeq: first, lastSeq: last };
}
