import { describe, expect, test } from 'bun:test';
import { problemShapeError } from './fuzz.ts';
import { exhaustiveRequestCount, malformedRequest, variantKindsOf } from './malformed-requests.ts';
import type { DocumentedOperation } from './operations.ts';

const LIMIT = 256 * 1024;
const bare: DocumentedOperation = {
  key: 'GET /healthz',
  method: 'GET',
  path: '/healthz',
  secured: false,
  permission: null,
  sessionOnly: false,
  responses: ['200'],
  parameters: [],
  body: null,
  hasRequestBody: false,
};
const create: DocumentedOperation = {
  key: 'POST /v1/things/{id}',
  method: 'POST',
  path: '/v1/things/{id}',
  secured: true,
  permission: 'things:write',
  sessionOnly: false,
  responses: ['201', '401', '403', '422'],
  parameters: [
    { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } },
    { name: 'idempotency-key', in: 'header', required: false, schema: { type: 'string', maxLength: 300 } },
  ],
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['name', 'amount'],
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 80 },
      amount: { type: 'number', minimum: 1, maximum: 1000 },
      expiresAt: { type: 'string', format: 'date-time' },
    },
  },
  hasRequestBody: true,
};
const operations = [bare, create];
const every = (seed: number) =>
  Array.from({ length: exhaustiveRequestCount(operations) }, (_, index) =>
    malformedRequest({ operations, seed, index, bodyLimitBytes: LIMIT }),
  );

describe('malformed requests', () => {
  test('an operation with no inputs still gets 30 kinds; one with a body, path and header many more', () => {
    expect(variantKindsOf(bare).length).toBeGreaterThanOrEqual(30);
    expect(variantKindsOf(create).length).toBeGreaterThan(90);
  });

  test('request N of a seed is the same request every time, and another seed changes some', () => {
    const first = every(7);
    expect(every(7)).toEqual(first);
    expect(every(8)).not.toEqual(first);
    expect(first[40]).toEqual(malformedRequest({ operations, seed: 7, index: 40, bodyLimitBytes: LIMIT }));
  });

  test('nested and huge bodies stay within the limit; the over-limit ones pass it', () => {
    for (const request of every(3)) {
      const bytes = request.body?.byteLength ?? 0;
      if (request.variant.includes('over the limit')) expect(bytes).toBeGreaterThan(LIMIT);
      else
        expect({ variant: request.variant, within: bytes <= LIMIT }).toEqual({
          variant: request.variant,
          within: true,
        });
    }
    const nested = every(3).filter((request) => request.variant.startsWith('body deeply nested array'));
    expect(nested.length).toBeGreaterThan(0);
    for (const request of nested) expect(request.body?.byteLength).toBeGreaterThanOrEqual(20_000);
  });

  test('GET requests carry no body; body kinds keep the sampled path and a fresh Idempotency-Key', () => {
    const requests = every(5);
    for (const request of requests.filter((candidate) => candidate.method === 'GET'))
      expect(request.body).toBeNull();
    const keys = requests
      .filter((request) => request.operation === create.key && !request.variant.startsWith('declared header'))
      .map((request) => request.headers['idempotency-key']);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('the answer check', () => {
  const problem = (status: number, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ type: '/problems/not-found', title: 'Not found', status, requestId: 'r1', ...extra });
  const headers = (contentType: string, more: Record<string, string> = {}) =>
    new Headers({ 'content-type': contentType, 'x-request-id': 'r1', ...more });

  test('a catalog problem+json passes; any 5xx fails', () => {
    expect(problemShapeError(404, headers('application/problem+json'), problem(404))).toBeNull();
    expect(problemShapeError(503, headers('application/problem+json'), problem(503))).toBe('answered 503');
  });

  test('a 4xx that is not the catalog problem says what is wrong', () => {
    expect(problemShapeError(404, headers('text/plain'), 'NOT_FOUND')).toBe(
      '404 with content-type "text/plain"',
    );
    expect(problemShapeError(404, headers('application/problem+json'), problem(400))).toBe(
      'problem status 400 on an HTTP 404',
    );
    expect(
      problemShapeError(404, headers('application/problem+json'), problem(404, { type: '/problems/nope' })),
    ).toBe('problem type "/problems/nope" is not in the catalog');
    expect(
      problemShapeError(404, headers('application/problem+json', { 'x-request-id': 'r2' }), problem(404)),
    ).toBe('X-Request-Id differs from requestId');
  });

  test('a replayed idempotent answer keeps the requestId of the first', () => {
    const replay = headers('application/problem+json', {
      'x-request-id': 'r2',
      'idempotent-replayed': 'true',
    });
    expect(problemShapeError(404, replay, problem(404))).toBeNull();
  });
});
