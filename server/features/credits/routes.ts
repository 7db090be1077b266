import { Elysia, t } from 'elysia';
import type { Database } from '../../../db/client.ts';
import { withTenant } from '../../../db/tenant.ts';
import { AppError } from '../../errors.ts';
import { type AuthDeps, authentication } from '../../plugins/authentication.ts';
import { requestIdOf } from '../../plugins/request-id.ts';
import { PageQuery, ProblemModel, Timestamp, Uuid } from '../shared-model.ts';
import {
  consumeCredits,
  grantCredits,
  listTransactions,
  readBalance,
  setLowBalanceThreshold,
} from './service.ts';

const tags = ['credits'];
const MAX_AMOUNT = 1_000_000_000_000;
const MAX_METADATA_BYTES = 4096;

// A JSON number only (t.Integer would accept "5"), whole, from 1 up.
const Amount = t.Number({
  minimum: 1,
  maximum: MAX_AMOUNT,
  multipleOf: 1,
  description: 'Whole credits, at least 1',
});
const Reason = t.String({ minLength: 1, maxLength: 200, pattern: '\\S' });
const Metadata = t.Record(t.String({ maxLength: 64 }), t.Unknown(), {
  maxProperties: 50,
  description: `Your own keys and values, at most ${MAX_METADATA_BYTES} bytes as JSON`,
});
const Transaction = t.Object({
  id: Uuid,
  type: t.String(),
  amount: t.Integer(),
  balanceAfter: t.Integer(),
  reason: t.String(),
  metadata: t.Record(t.String(), t.Unknown()),
  createdAt: Timestamp,
});
const Movement = t.Object({ transaction: Transaction, balance: t.Integer() });
const IDEMPOTENCY_KEY = /^[A-Za-z0-9_.:-]{1,255}$/;

function checkedMetadata(metadata: Record<string, unknown> | undefined): Record<string, unknown> {
  const value = metadata ?? {};
  if (new TextEncoder().encode(JSON.stringify(value)).byteLength > MAX_METADATA_BYTES) {
    throw new AppError('validation-failed', `Metadata is over ${MAX_METADATA_BYTES} bytes.`, {
      errors: [{ path: '/metadata', message: `At most ${MAX_METADATA_BYTES} bytes as JSON` }],
    });
  }
  return value;
}

export function creditRoutes(deps: AuthDeps & { database: Database }) {
  const { database } = deps;
  return new Elysia({ name: 'credit-routes', prefix: '/v1/credits' })
    .use(authentication(deps))
    .get('', ({ actor }) => withTenant(database, actor, (db) => readBalance(db, actor.tenantId)), {
      auth: 'credits:read',
      response: {
        200: t.Object({
          balance: t.Integer(),
          lowBalanceThreshold: t.Union([t.Integer(), t.Null()]),
          updatedAt: t.Union([Timestamp, t.Null()]),
        }),
        401: ProblemModel,
        403: ProblemModel,
      },
      detail: { tags, summary: "The tenant's credit balance" },
    })
    .put(
      '/low-balance-threshold',
      ({ actor, body }) =>
        withTenant(database, actor, (db) => setLowBalanceThreshold(db, actor.tenantId, body.threshold)),
      {
        auth: 'billing:manage',
        body: t.Object(
          { threshold: t.Union([t.Number({ minimum: 1, maximum: MAX_AMOUNT, multipleOf: 1 }), t.Null()]) },
          { additionalProperties: false },
        ),
        response: {
          200: t.Object({ balance: t.Integer(), lowBalanceThreshold: t.Union([t.Integer(), t.Null()]) }),
          401: ProblemModel,
          403: ProblemModel,
          422: ProblemModel,
        },
        detail: {
          tags,
          summary: 'Set the low-balance threshold (null: none)',
          description: 'Falling below it publishes `credits.low_balance` once per crossing.',
        },
      },
    )
    .get(
      '/transactions',
      ({ actor, query }) =>
        withTenant(database, actor, (db) =>
          listTransactions(db, { limit: query.limit ?? 50, cursor: query.cursor }),
        ),
      {
        auth: 'credits:read',
        query: PageQuery,
        response: {
          200: t.Object({ items: t.Array(Transaction), nextCursor: t.Union([Uuid, t.Null()]) }),
          401: ProblemModel,
          403: ProblemModel,
          422: ProblemModel,
        },
        detail: { tags, summary: 'The ledger, newest first' },
      },
    )
    .post(
      '/grants',
      async ({ actor, body, set }) => {
        const metadata = checkedMetadata(body.metadata);
        const granted = await withTenant(database, actor, (db) =>
          grantCredits(db, {
            actor,
            amount: body.amount,
            reason: body.reason.trim(),
            expiresAt: body.expiresAt ? new Date(body.expiresAt) : null,
            metadata,
          }),
        );
        set.status = 201;
        return granted;
      },
      {
        auth: 'credits:grant',
        body: t.Object(
          {
            amount: Amount,
            reason: Reason,
            expiresAt: t.Optional(Timestamp),
            metadata: t.Optional(Metadata),
          },
          { additionalProperties: false },
        ),
        response: { 201: Movement, 401: ProblemModel, 403: ProblemModel, 422: ProblemModel },
        detail: { tags, summary: 'Grant credits by hand (optionally expiring)' },
      },
    )
    .post(
      '/consume',
      async ({ actor, body, headers, request }) => {
        const key = headers['idempotency-key'];
        if (!key) {
          throw new AppError(
            'idempotency-key-required',
            'Send an Idempotency-Key header (a unique id per operation).',
          );
        }
        if (!IDEMPOTENCY_KEY.test(key)) {
          throw new AppError('validation-failed', 'The Idempotency-Key is 1–255 letters, digits or _ . : -', {
            errors: [{ path: '/headers/idempotency-key', message: 'Letters, digits, _ . : - (1–255)' }],
          });
        }
        const metadata = checkedMetadata(body.metadata);
        const requestHash = new Bun.CryptoHasher('sha256')
          .update(`POST /v1/credits/consume\n${JSON.stringify(body)}`)
          .digest('hex');
        const answer = await withTenant(database, actor, (db) =>
          consumeCredits(db, {
            actor,
            amount: body.amount,
            reason: body.reason.trim(),
            metadata,
            key,
            requestHash,
            requestId: requestIdOf(request),
          }),
        );
        return new Response(answer.body, {
          status: answer.status,
          headers: {
            'content-type': answer.status < 300 ? 'application/json' : 'application/problem+json',
            ...(answer.replayed ? { 'idempotent-replayed': 'true' } : {}),
          },
        });
      },
      {
        auth: 'credits:consume',
        headers: t.Object({
          'idempotency-key': t.Optional(t.String({ title: 'idempotency-key', maxLength: 300 })),
        }),
        body: t.Object(
          { amount: Amount, reason: Reason, metadata: t.Optional(Metadata) },
          { additionalProperties: false },
        ),
        response: {
          201: Movement,
          400: ProblemModel,
          401: ProblemModel,
          402: ProblemModel,
          403: ProblemModel,
          409: ProblemModel,
          422: ProblemModel,
        },
        detail: {
          tags,
          summary: 'Spend credits (Idempotency-Key required)',
          description:
            'Never below zero: over the balance it is 402 `insufficient-credits` with the balance. The same key with the same body replays the first answer byte for byte (header `Idempotent-Replayed: true`); with another body it is 409.',
        },
      },
    );
}
