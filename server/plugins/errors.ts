import { Elysia, ValidationError } from 'elysia';
import type { Database } from '../../db/client.ts';
import { sqlStateOf } from '../../db/errors.ts';
import { withTenant } from '../../db/tenant.ts';
import { AppError, type FieldError, problemResponse, toProblem } from '../errors.ts';
import { recordAudit } from '../features/audit/record.ts';
import type { Logger } from '../logger.ts';
import { requestActor } from './authentication.ts';
import { deferredRefusal } from './deferred-access-check.ts';
import { requestIdOf } from './request-id.ts';

function fieldErrors(error: ValidationError): FieldError[] {
  if (error.type === 'property') {
    const title = (error.validator as { schema?: { title?: unknown }; title?: unknown }) ?? {};
    const name = typeof title.title === 'string' ? title.title : title.schema?.title;
    const message = error.valueError?.message ?? 'is not valid';
    return [{ path: typeof name === 'string' ? `/${name}` : '/', message }];
  }
  const seen = new Set<string>();
  const fields: FieldError[] = [];
  for (const issue of error.all) {
    const path = 'path' in issue && typeof issue.path === 'string' && issue.path !== '' ? issue.path : '/';
    const message = 'message' in issue && typeof issue.message === 'string' ? issue.message : 'is not valid';
    const key = `${path} ${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    fields.push({ path, message });
  }
  return fields;
}

/** The access check in Postgres (`require_access`) speaks in these SQLSTATEs. */
function accessRefusal(error: unknown): AppError | null {
  const state = sqlStateOf(error);
  if (state !== 'WR401' && state !== 'WR403') return null;
  const reason =
    error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : '';
  if (state === 'WR401') return new AppError('unauthorized', `Access ended: ${reason}.`);
  const permission = /"([a-z:-]+)"/.exec(reason)?.[1];
  return new AppError(
    'forbidden',
    permission ? `This action needs the "${permission}" permission.` : 'Not allowed.',
  );
}

function asAppError(code: string | number, error: unknown): AppError | null {
  if (error instanceof AppError) return error;
  const refused = accessRefusal(error);
  if (refused) return refused;
  // Elysia wraps what a parser throws (e.g. the body limit on a streamed body) in a ParseError.
  if (error instanceof Error && error.cause instanceof AppError) return error.cause;
  if (error instanceof ValidationError) {
    // A malformed id in the path names nothing that exists: answer as for an unknown id.
    if (error.type === 'params') return new AppError('not-found', 'Nothing has that id.');
    const where =
      error.type === 'query' || error.type === 'property'
        ? 'query string'
        : error.type === 'headers'
          ? 'headers'
          : 'body';
    return new AppError('validation-failed', `The ${where} has invalid fields.`, {
      errors: fieldErrors(error),
    });
  }
  switch (code) {
    case 'PARSE':
      return new AppError('malformed-json', 'The body could not be parsed; send valid JSON.');
    case 'NOT_FOUND':
      return new AppError('not-found', 'No such route.');
    case 'INVALID_COOKIE_SIGNATURE':
    case 'INVALID_FILE_TYPE':
      return new AppError('bad-request', 'The request could not be read.');
    default:
      return null;
  }
}

/**
 * A refused request (403 `forbidden`: a permission, scope or role the caller lacks) is recorded as
 * `access.denied` in the caller's tenant, in a transaction of its own: the refused one rolled back.
 * Recording never changes the answer; a failure to record is logged.
 */
async function recordRefusal(
  database: Database,
  logger: Logger,
  request: Request,
  refusal: AppError,
): Promise<void> {
  const actor = requestActor(request);
  if (!actor) return;
  try {
    await withTenant(database, actor.tenantId, (db) =>
      recordAudit(db, actor.tenantId, actor.who, {
        action: 'access.denied',
        targets: [],
        metadata: {
          method: request.method,
          path: new URL(request.url).pathname,
          permission: actor.permission,
          detail: refusal.detail ?? null,
        },
        outcome: 'failure',
      }),
    );
  } catch (error) {
    logger.error({ err: error, requestId: requestIdOf(request) }, 'recording a refusal failed');
  }
}

/** One error handler for the whole API: every failure becomes RFC 9457 problem+json. */
export function errorHandling(logger: Logger, options: { database?: Database } = {}) {
  return new Elysia({ name: 'error-handling' }).onError(
    { as: 'global' },
    async ({ code, error, request, set }) => {
      const requestId = requestIdOf(request);
      // A request that failed before its access check ran is answered by that check when it refuses.
      const refusal = await deferredRefusal(request);
      const known = asAppError(code, refusal ?? error);
      const appError =
        known ?? new AppError('internal', 'Something went wrong on our side; quote the request id.');
      if (!known) {
        logger.error(
          { err: error, requestId, method: request.method, url: new URL(request.url).pathname },
          'unhandled error',
        );
      }
      if (appError.code === 'forbidden' && options.database) {
        await recordRefusal(options.database, logger, request, appError);
      }
      set.status = appError.status;
      return problemResponse(toProblem(appError, requestId), {
        ...appError.headers,
        'x-request-id': requestId,
      });
    },
  );
}
