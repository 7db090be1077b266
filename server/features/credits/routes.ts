import { withHeaders } from '@elysiajs/openapi/openapi';
import { Elysia, t } from 'elysia';
import type { Database } from '../../../db/client.ts';
import { withTenant } from '../../../db/tenant.ts';
import { AppError } from '../../errors.ts';
import { type AuthDeps, authentication } from '../../plugins/authentication.ts';
import { requestIdOf } from '../../plugins/request-id.ts';
import { CreditMovementModel, PageQuery, problemsFor, Timestamp, Uuid } from '../shared-model.ts';
import {
  CreatedReservationModel,
  CreditBalanceModel,
  CreditTransactionPage,
  LowBalanceThresholdModel,
  ReservationModel,
  SettledReservationModel,
} from './model.ts';
import { captureReservation, readReservation, releaseReservation, reserveCredits } from './reservations.ts';
import {
  grantCredits,
  listTransactions,
  readBalance,
  type StoredAnswer,
  setLowBalanceThreshold,
  spendCredits,
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
const IDEMPOTENCY_KEY = /^[A-Za-z0-9_.:-]{1,255}$/;
const IdempotencyHeaders = t.Object({
  'idempotency-key': t.String({
    title: 'idempotency-key',
    maxLength: 300,
    description: 'A unique id per operation (1–255 letters, digits, _ . : -); a retry sends the same',
  }),
});
const ReplayHeaders = {
  'idempotent-replayed': t.Optional(
    t.Literal('true', { description: 'This is the stored first answer for the key, replayed' }),
  ),
};
/**
 * `idempotencyKey: true` checks the header before validation, so that a missing key is its own problem
 * (400) rather than a field error. A macro's hooks run after the route's own and in the order the route
 * names them: listed after `auth`, the caller is authenticated first.
 */
const idempotencyKeyMacro = new Elysia({ name: 'idempotency-key' }).macro({
  idempotencyKey(required: boolean) {
    if (!required) return {};
    return {
      transform({ headers }: { headers: Record<string, string | undefined> }) {
        requireKey(headers['idempotency-key']);
      },
    };
  },
});
function requireKey(key: string | undefined): string {
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
  return key;
}

const requestHashOf = (route: string, body: unknown) =>
  new Bun.CryptoHasher('sha256').update(`${route}\n${JSON.stringify(body)}`).digest('hex');

/** A stored answer, as it was first given (the same bytes), marked when it is a replay. */
function storedResponse(answer: StoredAnswer): Response {
  return new Response(answer.body, {
    status: answer.status,
    headers: {
      'content-type': answer.status < 300 ? 'application/json' : 'application/problem+json',
      ...(answer.replayed ? { 'idempotent-replayed': 'true' } : {}),
    },
  });
}

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
    .use(idempotencyKeyMacro)
    .get('', ({ actor }) => withTenant(database, actor, (db) => readBalance(db, actor.tenantId)), {
      auth: 'credits:read',
      response: {
        200: CreditBalanceModel,
        ...problemsFor(401, 403),
      },
      detail: { tags, summary: "The tenant's credit balance" },
    })
    .put(
      '/low-balance-threshold',
      ({ actor, body }) =>
        withTenant(database, actor, (db) =>
          setLowBalanceThreshold(db, actor.tenantId, body.threshold, actor.who),
        ),
      {
        auth: 'billing:manage',
        body: t.Object(
          { threshold: t.Union([t.Number({ minimum: 1, maximum: MAX_AMOUNT, multipleOf: 1 }), t.Null()]) },
          { additionalProperties: false },
        ),
        response: {
          200: LowBalanceThresholdModel,
          ...problemsFor(401, 403, 422),
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
          200: CreditTransactionPage,
          ...problemsFor(401, 403, 422),
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
        response: { 201: CreditMovementModel, ...problemsFor(401, 403, 422) },
        detail: { tags, summary: 'Grant credits by hand (optionally expiring)' },
      },
    )
    .post(
      '/reservations',
      async ({ actor, body, headers, request }) => {
        const key = headers['idempotency-key'];
        const metadata = checkedMetadata(body.metadata);
        const answer = await withTenant(database, actor, (db) =>
          reserveCredits(db, {
            actor,
            amount: body.amount,
            reason: body.reason.trim(),
            metadata,
            ttlSeconds: body.ttlSeconds ?? 900,
            key,
            requestHash: requestHashOf('POST /v1/credits/reservations', body),
            requestId: requestIdOf(request),
          }),
        );
        return storedResponse(answer);
      },
      {
        auth: 'credits:consume',
        headers: IdempotencyHeaders,
        idempotencyKey: true,
        body: t.Object(
          {
            amount: Amount,
            reason: Reason,
            ttlSeconds: t.Optional(
              t.Number({ minimum: 1, maximum: 86_400, multipleOf: 1, title: 'ttlSeconds' }),
            ),
            metadata: t.Optional(Metadata),
          },
          { additionalProperties: false },
        ),
        response: {
          201: withHeaders(CreatedReservationModel, ReplayHeaders),
          ...problemsFor(400, 401, 402, 403, 409, 422),
        },
        detail: {
          tags,
          summary: 'Hold credits for metered work (Idempotency-Key required)',
          description:
            'The credits leave the spendable balance now; capture (part of) them or release them. A reservation not settled within `ttlSeconds` (default 900) is released on its own.',
        },
      },
    )
    .get(
      '/reservations/:id',
      ({ actor, params }) =>
        withTenant(database, actor, (db) => readReservation(db, actor.tenantId, params.id)),
      {
        auth: 'credits:read',
        params: t.Object({ id: Uuid }),
        response: { 200: ReservationModel, ...problemsFor(401, 403, 404) },
        detail: { tags, summary: 'A reservation' },
      },
    )
    .post(
      '/reservations/:id/capture',
      ({ actor, params, body }) =>
        withTenant(database, actor, (db) =>
          captureReservation(db, { actor, id: params.id, amount: body.amount }),
        ),
      {
        auth: 'credits:consume',
        params: t.Object({ id: Uuid }),
        body: t.Object(
          { amount: t.Number({ minimum: 0, maximum: MAX_AMOUNT, multipleOf: 1 }) },
          { additionalProperties: false },
        ),
        response: {
          200: SettledReservationModel,
          ...problemsFor(401, 403, 404, 409, 422),
        },
        detail: { tags, summary: 'Spend part or all of a reservation; the rest goes back' },
      },
    )
    .post(
      '/reservations/:id/release',
      ({ actor, params }) =>
        withTenant(database, actor, (db) => releaseReservation(db, { actor, id: params.id })),
      {
        auth: 'credits:consume',
        params: t.Object({ id: Uuid }),
        response: {
          200: SettledReservationModel,
          ...problemsFor(401, 403, 404, 409),
        },
        detail: { tags, summary: 'Give back everything a reservation holds' },
      },
    )
    .post(
      '/consume',
      async ({ actor, body, headers, request }) => {
        const key = headers['idempotency-key'];
        const metadata = checkedMetadata(body.metadata);
        const requestHash = requestHashOf('POST /v1/credits/consume', body);
        const answer = await spendCredits(database, {
          actor,
          amount: body.amount,
          reason: body.reason.trim(),
          metadata,
          key,
          requestHash,
          requestId: requestIdOf(request),
        });
        return storedResponse(answer);
      },
      {
        auth: 'credits:consume',
        headers: IdempotencyHeaders,
        idempotencyKey: true,
        body: t.Object(
          { amount: Amount, reason: Reason, metadata: t.Optional(Metadata) },
          { additionalProperties: false },
        ),
        response: {
          201: withHeaders(CreditMovementModel, ReplayHeaders),
          ...problemsFor(400, 401, 402, 403, 409, 422),
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
