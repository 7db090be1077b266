import { t } from 'elysia';
import { oneOf, Timestamp, Uuid } from '../shared-model.ts';
import { auditActions } from './catalog.ts';

export const AuditActorModel = t.Object({
  type: t.Union([t.Literal('user'), t.Literal('api_key'), t.Literal('platform_admin'), t.Literal('system')]),
  /** The person, key or admin; for `system`, the job (e.g. `billing.renewals`). */
  id: t.Union([t.String(), t.Null()]),
  name: t.Union([t.String(), t.Null()]),
});

export const AuditTargetModel = t.Object({
  type: t.String(),
  id: t.String(),
  name: t.Union([t.String(), t.Null()]),
});

export const AuditContextModel = t.Object({
  requestId: t.Union([t.String(), t.Null()]),
  ip: t.Union([t.String(), t.Null()]),
  userAgent: t.Union([t.String(), t.Null()]),
});

/** One audit entry as the API answers and exports it (`seq` and `hash` let anyone verify the chain). */
export const AuditEntryModel = t.Object({
  id: Uuid,
  tenantId: Uuid,
  seq: t.Integer({ minimum: 1 }),
  occurredAt: Timestamp,
  action: t.String(),
  actor: AuditActorModel,
  targets: t.Array(AuditTargetModel),
  context: AuditContextModel,
  /** Changed fields: `{field: [before, after]}`; secret fields show as "[redacted]". */
  changes: t.Record(t.String(), t.Tuple([t.Unknown(), t.Unknown()])),
  metadata: t.Record(t.String(), t.Unknown()),
  outcome: t.Union([t.Literal('success'), t.Literal('failure')]),
  /** SHA-256 of the previous entry's hash, this seq and this entry's canonical form (hex). */
  hash: t.String({ pattern: '^[0-9a-f]{64}$' }),
});

export type AuditEntry = typeof AuditEntryModel.static;
export type AuditActor = typeof AuditActorModel.static;
export type AuditTarget = typeof AuditTargetModel.static;
export type AuditContext = typeof AuditContextModel.static;
/** What the chain's digest covers: the entry without its place in the chain. */
export type AuditContent = Omit<AuditEntry, 'seq' | 'hash'>;

/** A signed chain head. */
export const AuditCheckpointModel = t.Object({
  tenantId: Uuid,
  seq: t.Integer({ minimum: 0 }),
  hash: t.String({ pattern: '^[0-9a-f]{64}$' }),
  signedAt: Timestamp,
  reason: t.Union([t.Literal('periodic'), t.Literal('on-demand'), t.Literal('retention')]),
  keyId: t.String(),
  /** Ed25519 signature (base64url) of the checkpoint's canonical form without `signature`. */
  signature: t.String(),
});

export type AuditCheckpoint = typeof AuditCheckpointModel.static;

/** The actions of `GET /v1/audit-logs/catalog`: what each means and the kinds of target it names. */
export const AuditActionCatalogModel = t.Object({
  actions: t.Array(
    t.Object({
      action: t.String(),
      description: t.String(),
      targets: t.Array(t.String(), { description: 'The kinds of target its entries name' }),
    }),
  ),
});

export type AuditActionCatalog = typeof AuditActionCatalogModel.static;

/** The `action` filter of a query: one action of the catalog (the 422 names it). */
export const AuditActionFilter = oneOf(auditActions, {
  title: 'action',
  description: 'An action of `/v1/audit-logs/catalog`',
});
