import { sql } from 'drizzle-orm';
import { type Database, selectRows } from '../../../db/client.ts';
import { type TenantActor, withPlatformAdmin, withTenant } from '../../../db/tenant.ts';
import type { AdminAuditSource } from '../../../realtime/admin-audit.ts';
import type { GatewayIdentity } from '../../../realtime/gateway.ts';
import { envelopeOfRaw, type RawEventRow } from '../../../realtime/relay.ts';
import type { ApiKeyResolver } from '../api-keys/service.ts';
import { type AuditWho, NO_CONTEXT, personWho, platformAdminWho, recordAudit } from '../audit/record.ts';
import type { AccessTokens } from '../auth/access-tokens.ts';
import { effectivePermissions } from './service.ts';

/**
 * How the realtime gateway checks who connects: the API's own token verifier and key resolver, and the
 * same per-request check in Postgres (live membership, session or key) with the caller's permissions.
 */
export function gatewayIdentity(deps: {
  database: Database;
  tokens: AccessTokens;
  apiKeys: ApiKeyResolver;
}): GatewayIdentity {
  return {
    verifyAccessToken: (token) => deps.tokens.verify(token),
    resolveApiKey: (secret) => deps.apiKeys.resolve(secret),
    permissionsOf: (actor: TenantActor) =>
      withTenant(deps.database, actor, (db) => effectivePermissions(db, actor)),
    adminAudit: adminAuditSource(deps.database),
    async auditFollowed(actor, channel, after) {
      const metadata = { channel, ...(after !== null ? { after: String(after) } : {}) };
      const name = actor.name ?? null;
      if (channel === 'admin:audit') {
        await withPlatformAdmin(
          deps.database,
          actor.userId,
          (db) =>
            recordAudit(db, actor.tenantId, platformAdminWho(personWho({ id: actor.userId, name })), {
              action: 'audit.read',
              targets: [],
              metadata: { scope: 'every tenant', ...metadata },
            }),
          { tenantId: actor.tenantId },
        );
        return;
      }
      const who: AuditWho = actor.apiKeyId
        ? { actor: { type: 'api_key', id: actor.apiKeyId, name }, context: NO_CONTEXT }
        : personWho({ id: actor.userId, name });
      await withTenant(deps.database, { ...actor, permission: null }, (db) =>
        recordAudit(db, actor.tenantId, who, { action: 'audit.read', targets: [], metadata }),
      );
    },
  };
}

/** A feed row with its event; the event's columns are null when it was pruned. */
type FeedRow = Omit<RawEventRow, 'id'> & { id: string | null; position: string | number };

/**
 * The audit feed as a platform admin reads it: Postgres admits the rows only when the person is
 * flagged as a platform admin (`acting_platform_admin()` in the policies of `audit_feed` and `events`).
 */
export function adminAuditSource(database: Database): AdminAuditSource {
  return {
    async isPlatformAdmin(userId) {
      const [row] = await withPlatformAdmin(database, userId, (db) =>
        selectRows<{ admin: boolean }>(db, sql`select acting_platform_admin() as admin`),
      );
      return row?.admin === true;
    },
    async after(userId, position, limit) {
      const rows = await withPlatformAdmin(database, userId, (db) =>
        selectRows<FeedRow>(
          db,
          sql`select f.position, e.tenant_id, e.seq, e.id, e.type, e.version, e.occurred_at, e.actor, e.data
              from audit_feed f
              left join events e on e.tenant_id = f.tenant_id and e.seq = f.event_seq
              where f.position > ${position}
              order by f.position
              limit ${limit}`,
        ),
      );
      // The feed outlives the events it points to (EVENTS_RETENTION_DAYS prunes those): a position whose
      // event is gone cannot be replayed, and skipping it would be a silent gap.
      const gone = rows.filter((row) => row.id === null).at(-1);
      if (gone) {
        throw Object.assign(
          new Error(
            `Audit entries up to position ${gone.position} are past the event retention: load recent entries, then subscribe without \`after\`.`,
          ),
          { code: 'events-pruned', earliestPosition: Number(gone.position) + 1 },
        );
      }
      const kept = rows.filter((row): row is FeedRow & { id: string } => row.id !== null);
      return kept.map((row) => ({
        ...envelopeOfRaw(row),
        auditPosition: Number(row.position),
      }));
    },
    async head(userId) {
      const [row] = await withPlatformAdmin(database, userId, (db) =>
        selectRows<{ head: string | number | null }>(db, sql`select max(position) as head from audit_feed`),
      );
      return Number(row?.head ?? 0);
    },
  };
}
