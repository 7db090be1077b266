import type { TLiteral, TUnion } from '@sinclair/typebox';
import { t } from 'elysia';

/** One of these strings (t.UnionEnum would default a missing query value to the first of them). */
export const oneOf = <const Values extends readonly string[]>(
  values: Values,
  options: { title: string; description?: string; default?: Values[number] },
) =>
  t.Union(
    values.map((value) => t.Literal(value)),
    options,
  ) as unknown as TUnion<TLiteral<Values[number]>[]>;

export const Uuid = t.String({ format: 'uuid', examples: ['0193a1a0-7c7e-7d4a-9c1e-2f1c8b2d9e10'] });
export const Timestamp = t.String({ format: 'date-time' });

export const ProblemModel = t.Object(
  {
    type: t.String(),
    title: t.String(),
    status: t.Integer(),
    detail: t.Optional(t.String()),
    requestId: t.String(),
    errors: t.Optional(t.Array(t.Object({ path: t.String(), message: t.String() }))),
  },
  { description: 'RFC 9457 problem details', additionalProperties: true },
);

/**
 * Elysia checks a coerced query parameter on its own and does not report which one failed; the `title`
 * names it, so the problem+json can point at the right field.
 */
export const PageQuery = t.Object({
  limit: t.Optional(t.Integer({ title: 'limit', minimum: 1, maximum: 100, default: 50 })),
  cursor: t.Optional(t.String({ title: 'cursor', format: 'uuid' })),
});

/** `ProblemModel` for each of these statuses, to spread into a route's `response`. */
export function problemsFor<const Statuses extends readonly number[]>(
  ...statuses: Statuses
): { [Status in Statuses[number]]: typeof ProblemModel } {
  return Object.fromEntries(statuses.map((status) => [status, ProblemModel])) as {
    [Status in Statuses[number]]: typeof ProblemModel;
  };
}

export const problemResponses = {
  400: ProblemModel,
  401: ProblemModel,
  403: ProblemModel,
  404: ProblemModel,
  409: ProblemModel,
  422: ProblemModel,
} as const;

/** A credit ledger entry, as every credits, billing and admin answer shows it. */
export const CreditTransactionModel = t.Object({
  id: Uuid,
  type: t.String(),
  amount: t.Integer({ description: 'Signed: positive adds to the balance, negative takes from it' }),
  balanceAfter: t.Integer(),
  reason: t.String(),
  metadata: t.Record(t.String(), t.Unknown()),
  createdAt: Timestamp,
});
export type CreditTransactionModel = typeof CreditTransactionModel.static;

/** A credit movement's answer: the ledger entry and the balance after it. */
export const CreditMovementModel = t.Object({ transaction: CreditTransactionModel, balance: t.Integer() });
export type CreditMovementModel = typeof CreditMovementModel.static;
