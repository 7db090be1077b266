import { and, desc, eq, isNull } from 'drizzle-orm';
import { type Database, inOrder, type ScopedDb } from '../../../db/client.ts';
import { type ApiKey, apiKeys } from '../../../db/schema/index.ts';
import { withIdentity } from '../../../db/tenant.ts';
import { AppError } from '../../errors.ts';
import { hashOpaqueToken, newOpaqueToken } from '../../opaque-tokens.ts';
import { tenantWidePermissions } from '../access/service.ts';
import { type AuditWho, changesOf, recordAudit, target } from '../audit/record.ts';
import { requireWithinPlanLimit } from '../billing/limits.ts';
import type { ApiKeyModel, CreatedApiKey } from './model.ts';

export const API_KEY_PREFIX = 'wr_';

const hashApiKey = hashOpaqueToken;

const toApiKeyDto = (key: ApiKey): ApiKeyModel => ({
  id: key.id,
  name: key.name,
  scopes: key.scopes,
  prefix: key.prefix,
  createdBy: key.createdBy,
  expiresAt: key.expiresAt?.toISOString() ?? null,
  lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
  createdAt: key.createdAt.toISOString(),
});

/**
 * Creates a key; its secret is returned here and never again. Scopes must be held by the creator, and
 * a key made with a key (`viaApiKeyId`) can be no wider than that key: within its scopes and ending no
 * later than it does, so a narrow key can never mint a wider or longer-lived one.
 */
export async function createApiKey(
  db: ScopedDb,
  input: {
    tenantId: string;
    createdBy: string;
    viaApiKeyId?: string;
    name: string;
    scopes: string[];
    expiresAt?: string;
    who: AuditWho;
  },
): Promise<CreatedApiKey> {
  const expiresAt = input.expiresAt ? new Date(input.expiresAt) : null;
  if (expiresAt && expiresAt <= new Date()) {
    throw new AppError('validation-failed', 'The expiry is in the past.', {
      errors: [{ path: '/expiresAt', message: 'Must be in the future' }],
    });
  }
  const held = new Set<string>(await tenantWidePermissions(db, input.createdBy));
  const beyond = input.scopes.filter((scope) => !held.has(scope));
  if (beyond.length > 0) {
    throw new AppError('validation-failed', 'A key cannot have scopes its creator does not hold.', {
      errors: beyond.map((scope) => ({ path: '/scopes', message: `You do not hold "${scope}"` })),
    });
  }
  if (input.viaApiKeyId) await requireWithinParentKey(db, input.viaApiKeyId, input.scopes, expiresAt);
  await requireWithinPlanLimit(db, input.tenantId, 'apiKeys');
  const { token: secret, hash: secretHash } = newOpaqueToken(API_KEY_PREFIX);
  const id = Bun.randomUUIDv7();
  const name = input.name.trim();
  const prefix = secret.slice(0, API_KEY_PREFIX.length + 8);
  // The id is chosen here, so the audit entry leaves with the insert (pipelined). Neither the secret
  // nor its hash is in the entry: the prefix is what the key's owner sees of it afterwards too.
  const [[key]] = await inOrder(
    () =>
      db
        .insert(apiKeys)
        .values({
          id,
          tenantId: input.tenantId,
          createdBy: input.createdBy,
          name,
          prefix,
          secretHash,
          scopes: input.scopes,
          expiresAt,
        })
        .returning(),
    () =>
      recordAudit(db, input.tenantId, input.who, {
        action: 'api_key.created',
        targets: [target('api_key', id, name)],
        changes: changesOf(null, {
          name,
          prefix,
          scopes: input.scopes,
          expiresAt: expiresAt?.toISOString() ?? null,
        }),
      }),
  );
  if (!key) throw new Error('insert returned no key');
  return { ...toApiKeyDto(key), secret };
}

async function requireWithinParentKey(
  db: ScopedDb,
  parentId: string,
  scopes: string[],
  expiresAt: Date | null,
): Promise<void> {
  const [parent] = await db
    .select({ scopes: apiKeys.scopes, expiresAt: apiKeys.expiresAt })
    .from(apiKeys)
    .where(eq(apiKeys.id, parentId));
  if (!parent) throw new AppError('unauthorized', 'The API key is invalid.');
  const parentScopes = new Set(parent.scopes);
  const beyond = scopes.filter((scope) => !parentScopes.has(scope));
  if (beyond.length > 0) {
    throw new AppError('validation-failed', 'A key cannot have scopes the key creating it does not have.', {
      errors: beyond.map((scope) => ({ path: '/scopes', message: `This API key does not have "${scope}"` })),
    });
  }
  if (parent.expiresAt && (!expiresAt || expiresAt > parent.expiresAt)) {
    throw new AppError('validation-failed', 'A key cannot outlive the key creating it.', {
      errors: [
        {
          path: '/expiresAt',
          message: `Must be set, and no later than ${parent.expiresAt.toISOString()}`,
        },
      ],
    });
  }
}

/** The tenant's keys that have not been revoked, newest first. */
export async function listApiKeys(db: ScopedDb): Promise<ApiKeyModel[]> {
  const rows = await db
    .select()
    .from(apiKeys)
    .where(isNull(apiKeys.revokedAt))
    .orderBy(desc(apiKeys.id))
    .limit(200);
  return rows.map(toApiKeyDto);
}

export async function revokeApiKey(
  db: ScopedDb,
  input: { tenantId: string; id: string; who: AuditWho },
): Promise<void> {
  const [revoked] = await db
    .update(apiKeys)
    .set({ revokedAt: new Date() })
    .where(and(eq(apiKeys.id, input.id), isNull(apiKeys.revokedAt)))
    .returning({ id: apiKeys.id, name: apiKeys.name, revokedAt: apiKeys.revokedAt });
  if (!revoked) throw new AppError('not-found', 'No such API key.');
  await recordAudit(db, input.tenantId, input.who, {
    action: 'api_key.revoked',
    targets: [target('api_key', revoked.id, revoked.name)],
    changes: { revokedAt: [null, revoked.revokedAt?.toISOString() ?? null] },
  });
}

export interface ApiKeyIdentity {
  apiKeyId: string;
  /** The key's name (fixed at creation): the actor name of its audit entries. */
  name: string;
  tenantId: string;
  userId: string;
  /** The key's expiry (fixed at creation), in ms. */
  credentialExpiresAt?: number;
  /** The key's scopes (fixed at creation). */
  scopes: readonly string[];
}

export interface ApiKeyResolver {
  /** The key's fixed identity, or null for an unknown secret. Liveness is checked per request. */
  resolve(secret: string): Promise<ApiKeyIdentity | null>;
}

const LAST_USED_RESOLUTION_MS = 60_000;
const RESOLVED_CACHE_SIZE = 10_000;

/**
 * Finds keys by the hash of their secret. What it caches never changes (id, tenant, creator, expiry,
 * scopes); whether a key is revoked, expired or in scope is decided by `require_access` on every request, so revocation
 * applies at once. Last use is stamped at most once a minute per key.
 */
export function createApiKeyResolver(database: Database): ApiKeyResolver {
  const resolved = new Map<string, ApiKeyIdentity>();
  const stamped = new Map<string, number>();

  function stampLastUse(apiKeyId: string) {
    const now = Date.now();
    if ((stamped.get(apiKeyId) ?? 0) > now - LAST_USED_RESOLUTION_MS) return;
    stamped.set(apiKeyId, now);
    withIdentity(database, (db) =>
      db
        .update(apiKeys)
        .set({ lastUsedAt: new Date(now) })
        .where(eq(apiKeys.id, apiKeyId)),
    ).catch(() => stamped.delete(apiKeyId));
  }

  return {
    async resolve(secret) {
      if (!secret.startsWith(API_KEY_PREFIX) || secret.length > 100) return null;
      const hash = hashApiKey(secret);
      let identity = resolved.get(hash);
      if (!identity) {
        const [row] = await withIdentity(database, (db) =>
          db
            .select({
              apiKeyId: apiKeys.id,
              name: apiKeys.name,
              tenantId: apiKeys.tenantId,
              userId: apiKeys.createdBy,
              expiresAt: apiKeys.expiresAt,
              scopes: apiKeys.scopes,
            })
            .from(apiKeys)
            .where(eq(apiKeys.secretHash, hash)),
        );
        if (!row) return null;
        identity = {
          apiKeyId: row.apiKeyId,
          name: row.name,
          tenantId: row.tenantId,
          userId: row.userId,
          scopes: Object.freeze([...row.scopes]),
          ...(row.expiresAt ? { credentialExpiresAt: row.expiresAt.getTime() } : {}),
        };
        if (resolved.size >= RESOLVED_CACHE_SIZE) {
          const oldest = resolved.keys().next().value;
          if (oldest !== undefined) resolved.delete(oldest);
        }
        resolved.set(hash, identity);
      }
      stampLastUse(identity.apiKeyId);
      return identity;
    },
  };
}
