import { Elysia, t } from 'elysia';
import type { Database } from '../../../db/client.ts';
import { withTenant } from '../../../db/tenant.ts';
import { AppError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import { type AuthDeps, authentication } from '../../plugins/authentication.ts';
import { mediaTypesResponse } from '../../plugins/openapi-document.ts';
import { oneOf, PageQuery, problemsFor } from '../shared-model.ts';
import { type ExportFormat, exportContentTypes, exportFilename, exportStream } from './export.ts';
import { AuditActionCatalogModel, AuditActionFilter, AuditEntryModel } from './model.ts';
import { recordAudit } from './record.ts';
import {
  type AuditFilters,
  actionCatalog,
  exportAuditEntries,
  filtersMetadata,
  listAuditEntries,
} from './service.ts';

const tags = ['audit'];

// Each field has a `title`: the 422 names it (see PageQuery).
const filterFields = {
  actorId: t.Optional(
    t.String({
      title: 'actorId',
      minLength: 1,
      maxLength: 200,
      description: "The actor's id: a person's or API key's id, or a system job's name",
    }),
  ),
  action: t.Optional(AuditActionFilter),
  targetType: t.Optional(
    t.String({
      title: 'targetType',
      minLength: 1,
      maxLength: 100,
      description: 'Entries naming a target of this type',
    }),
  ),
  targetId: t.Optional(
    t.String({
      title: 'targetId',
      minLength: 1,
      maxLength: 200,
      description: 'Entries naming a target with this id (with `targetType`: the same target)',
    }),
  ),
  outcome: t.Optional(oneOf(['success', 'failure'], { title: 'outcome' })),
  from: t.Optional(
    t.String({
      title: 'from',
      format: 'date-time',
      description: 'Entries that occurred at or after this time',
    }),
  ),
  to: t.Optional(
    t.String({
      title: 'to',
      format: 'date-time',
      description: 'Entries that occurred before this time (exclusive)',
    }),
  ),
  q: t.Optional(
    t.String({
      title: 'q',
      maxLength: 200,
      description:
        "Case-insensitive substring of the actor's name, a target's name or the action (empty: no search)",
    }),
  ),
};

const MAX_CURSOR = Number.MAX_SAFE_INTEGER;

const invalid = (field: string, message: string) =>
  new AppError('validation-failed', `The query string has invalid fields.`, {
    errors: [{ path: `/${field}`, message }],
  });

function instant(field: 'from' | 'to', value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  // The format passed; a year before 1 (e.g. 0000-01-01, or 0001-01-01 with a positive offset) is a
  // real JavaScript date that Postgres refuses.
  if (Number.isNaN(date.getTime()) || date.getUTCFullYear() < 1) throw invalid(field, 'Out of range');
  return date;
}

type FilterQuery = { [Name in keyof typeof filterFields]?: string };

/** The filters of a list or export, checked beyond their schema (`from` not after `to`). */
function filtersOf(query: FilterQuery): AuditFilters {
  const from = instant('from', query.from);
  const to = instant('to', query.to);
  if (from && to && from > to) throw invalid('from', 'Must not be after `to`');
  const q = query.q?.trim() ? query.q : undefined;
  const filters: AuditFilters = {
    actorId: query.actorId,
    action: query.action as AuditFilters['action'],
    targetType: query.targetType,
    targetId: query.targetId,
    outcome: query.outcome as AuditFilters['outcome'],
    from,
    to,
    q,
  };
  for (const name of Object.keys(filters) as (keyof AuditFilters)[]) {
    if (filters[name] === undefined) delete filters[name];
  }
  return filters;
}

function cursorOf(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined;
  const seq = Number(cursor);
  if (!Number.isSafeInteger(seq) || seq < 1 || seq > MAX_CURSOR)
    throw invalid('cursor', 'Not a cursor of this list');
  return seq;
}

export function auditReadRoutes(deps: AuthDeps & { database: Database; logger: Logger }) {
  const { database, logger } = deps;
  return new Elysia({ name: 'audit-read-routes', prefix: '/v1/audit-logs' })
    .use(authentication(deps))
    .get('/catalog', () => actionCatalog, {
      response: { 200: AuditActionCatalogModel },
      detail: {
        tags,
        summary: 'Every audit action: what it means and the kinds of target it names',
        description: 'Public, like the event catalog: it describes the API, not a tenant.',
      },
    })
    .get(
      '',
      ({ actor, query }) => {
        const filters = filtersOf(query);
        const cursor = cursorOf(query.cursor);
        const limit = query.limit ?? 50;
        return withTenant(database, actor, async (db) => {
          // Read first: the head row the audit entry locks is then held only until the commit.
          const page = await listAuditEntries(db, actor.tenantId, { filters, limit, cursor });
          await recordAudit(db, actor.tenantId, actor.who, {
            action: 'audit.read',
            targets: [],
            metadata: {
              filters: filtersMetadata(filters),
              limit,
              ...(cursor !== undefined ? { cursor: String(cursor) } : {}),
              returned: page.items.length,
            },
          });
          return page;
        });
      },
      {
        auth: 'audit:read',
        query: t.Object({
          ...filterFields,
          limit: PageQuery.properties.limit,
          cursor: t.Optional(
            t.String({
              title: 'cursor',
              pattern: '^[1-9][0-9]{0,15}$',
              description: "The previous page's `nextCursor` (the seq of its last entry)",
            }),
          ),
        }),
        response: {
          200: t.Object({
            items: t.Array(AuditEntryModel),
            nextCursor: t.Union([t.String(), t.Null()], {
              description: 'Pass as `cursor` for the next (older) page; null when this page reached the end',
            }),
          }),
          ...problemsFor(401, 403, 422),
        },
        detail: {
          tags,
          summary: "The tenant's audit trail, newest first",
          description:
            'Filters combine (all must match). Pages follow `nextCursor`, the seq of the last entry answered: stable while new entries arrive. Each call is itself recorded, as `audit.read` with its filters.',
        },
      },
    )
    .get(
      '/export',
      async ({ actor, query }) => {
        const filters = filtersOf(query);
        const format: ExportFormat = query.format ?? 'ndjson';
        await withTenant(database, actor, (db) =>
          recordAudit(db, actor.tenantId, actor.who, {
            action: 'audit.exported',
            targets: [],
            metadata: { format, filters: filtersMetadata(filters) },
          }),
        );
        const batches = exportAuditEntries(database, actor, actor.tenantId, filters);
        const body = exportStream(batches, format, (error) =>
          logger.error({ err: error, tenantId: actor.tenantId }, 'audit export failed part way'),
        );
        return new Response(body, {
          headers: {
            'content-type': exportContentTypes[format],
            'content-disposition': `attachment; filename="${exportFilename(actor.tenantId, format)}"`,
            'cache-control': 'no-store',
          },
        });
      },
      {
        auth: 'audit:read',
        query: t.Object({
          format: t.Optional(
            oneOf(['ndjson', 'csv'], {
              title: 'format',
              default: 'ndjson',
              description: 'ndjson (default) or csv',
            }),
          ),
          ...filterFields,
        }),
        response: {
          200: mediaTypesResponse('The entries, oldest first (a download)', {
            'application/x-ndjson':
              'One entry per line, as `GET /v1/audit-logs` answers it (with `seq` and `hash`)',
            'text/csv': `A header row, then one entry per row (RFC 4180); targets, context, changes and metadata as JSON text. A cell starting with = + - @, a tab or a CR is prefixed with ' against formula injection`,
          }),
          ...problemsFor(401, 403, 422),
        },
        detail: {
          tags,
          summary: "Export the tenant's audit trail (streamed)",
          description:
            'Every entry matching the filters, in seq order (oldest first), with no time window: an unfiltered NDJSON export is the whole chain, for an offline verifier. Streamed in batches as it is read. The export is itself recorded, as `audit.exported` with its format and filters, before it starts.',
        },
      },
    );
}
