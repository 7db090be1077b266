import { toOpenAPISchema, unwrapSchema } from '@elysiajs/openapi/openapi';
import { type AnyElysia, t } from 'elysia';
import { problemCatalog } from '../errors.ts';
import { ProblemModel } from '../features/shared-model.ts';
import { isAuthLimitPerIp } from './rate-limit.ts';

type Json = Record<string, unknown>;

interface ResponseObject {
  description: string;
  headers?: Json;
  content?: Json;
}

interface Operation {
  parameters?: Array<{ in: string; name: string; required?: boolean }>;
  requestBody?: Json;
  responses?: Record<string, ResponseObject>;
  security?: unknown[];
  'x-permission'?: string;
  'x-session-only'?: boolean;
}

interface RouteHooks {
  body?: unknown;
  response?: unknown;
  beforeHandle?: Array<{ fn: unknown }>;
  detail?: { hide?: boolean };
}

/** A route as Elysia keeps it (`app.routes`). */
export interface DocumentedRoute {
  method: string;
  path: string;
  hooks?: unknown;
}

const PROBLEM_CONTENT = {
  'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
};

/** "Problem: `unauthorized`, `invalid-credentials`": the catalog's codes answered with this status. */
function problemDescription(status: number): string {
  const codes = Object.entries(problemCatalog)
    .filter(([, problem]) => problem.status === status)
    .map(([code]) => `\`${code}\``);
  return codes.length > 0 ? `Problem (type /problems/…): ${codes.join(', ')}` : 'Problem';
}

const text = (description: string) => ({ description, schema: { type: 'string' } });

// Every answer carries its request id (the caller's, when sane); a 429 says when to come back.
const REQUEST_ID = { 'X-Request-Id': text('The request id, also in problem+json `requestId`') };
const RATE_LIMITED = {
  'Retry-After': { description: 'Seconds until the window resets', schema: { type: 'integer', minimum: 0 } },
  RateLimit: text('IETF RateLimit header: remaining requests and reset'),
  'RateLimit-Policy': text('IETF RateLimit-Policy header: the limit and its window'),
};

const problemResponse = (status: number): ResponseObject => ({
  description: problemDescription(status),
  content: PROBLEM_CONTENT,
});

function withResponseHeaders(status: number, response: ResponseObject): ResponseObject {
  return {
    ...response,
    headers: { ...REQUEST_ID, ...(status === 429 ? RATE_LIMITED : {}), ...response.headers },
  };
}

/**
 * The problems the platform itself can answer on an operation, whatever its handler does: the body
 * parser (400 malformed or too deep, 413, 415, 422), validation of the query and headers (422), a path
 * naming nothing (404), authentication and its rate limits (401, 429), a required permission or a sign-in session (403).
 */
function platformProblems(operation: Operation, hooks: RouteHooks, hasBody: boolean): number[] {
  const statuses: number[] = [];
  if ((hooks.beforeHandle ?? []).some((hook) => isAuthLimitPerIp(hook.fn))) statuses.push(429);
  const where = new Set((operation.parameters ?? []).map((parameter) => parameter.in));
  if (hasBody) statuses.push(400, 413, 415, 422);
  if (where.has('query') || where.has('header')) statuses.push(422);
  if (where.has('path')) statuses.push(404);
  if (operation.security) statuses.push(401, 429);
  // A permission not held, or an API key on a route for signed-in people (decision 0016).
  if (operation['x-permission'] || operation['x-session-only']) statuses.push(403);
  return statuses;
}

const MEDIA_TYPES = Symbol('media types');

/**
 * A success answer that is text in one of several media types (a download: NDJSON or CSV), each with
 * what it holds. Elysia does not check a returned Response against it; the document lists each type.
 */
export function mediaTypesResponse(description: string, types: Record<string, string>) {
  return Object.assign(t.String({ description }), { [MEDIA_TYPES]: types });
}

function exactResponse(status: number, response: ResponseObject, schema: unknown): ResponseObject {
  if (schema === ProblemModel) return problemResponse(status);
  const types = (schema as { [MEDIA_TYPES]?: Record<string, string> } | undefined)?.[MEDIA_TYPES];
  if (types) {
    const content = Object.entries(types).map(([type, holds]) => [
      type,
      { schema: { type: 'string', description: holds } },
    ]);
    return { description: response.description, content: Object.fromEntries(content) };
  }
  if (status === 204 || status === 205) return { description: response.description };
  if (status >= 300 && status < 400) {
    return {
      description: response.description,
      headers: { Location: { description: 'Where to go next', schema: { type: 'string' } } },
    };
  }
  return response;
}

function exactResponses(operation: Operation, hooks: RouteHooks, hasBody: boolean) {
  const declared =
    typeof hooks.response === 'object' && hooks.response !== null
      ? (hooks.response as Record<string, unknown>)
      : {};
  const exact = new Map<number, ResponseObject>();
  for (const [status, response] of Object.entries(operation.responses ?? {})) {
    exact.set(Number(status), exactResponse(Number(status), response, declared[status]));
  }
  for (const status of platformProblems(operation, hooks, hasBody)) {
    if (!exact.has(status)) exact.set(status, problemResponse(status));
  }
  return Object.fromEntries(
    [...exact]
      .sort(([a], [b]) => a - b)
      .map(([status, response]) => [status, withResponseHeaders(status, response)]),
  );
}

const isCoercedString = (schema: unknown) =>
  typeof schema === 'object' &&
  schema !== null &&
  (schema as Json).type === 'string' &&
  ['integer', 'numeric', 'boolean'].includes(String((schema as Json).format));

/**
 * Elysia's `t.Integer` is "an integer, or a string of one" (so query strings coerce): in answers it is
 * always a number, an OpenAPI query parameter is text by definition, and request bodies here take
 * `t.Number({ multipleOf: 1 })` instead. The document says integer.
 */
function withoutCoercionUnions(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutCoercionUnions);
  if (typeof value !== 'object' || value === null) return value;
  const { anyOf } = value as Json;
  if (Array.isArray(anyOf) && anyOf.length === 2 && anyOf.some(isCoercedString)) {
    const typed = anyOf.find((member) => !isCoercedString(member));
    const { anyOf: _, ...outer } = value as Json;
    return withoutCoercionUnions({ ...outer, ...(typed as Json) });
  }
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, withoutCoercionUnions(item)]));
}

/**
 * The OpenAPI 3.1 document of `app`, made exact where the generator is not: it leaves request bodies
 * without content when a global parser is a function (the body limit's is), writes problems as
 * application/json and empty answers as content. Every JSON body gets its schema, every problem the
 * problem+json schema, and every operation the problems the platform answers on it.
 */
export function apiDocument(
  app: AnyElysia,
  routes: readonly DocumentedRoute[],
  base: { info: Json; components?: Json },
) {
  const generated = toOpenAPISchema(app, { staticFile: true }, undefined, undefined, '3.1.2');
  const paths = generated.paths as Record<string, Record<string, Operation>>;
  for (const route of routes) {
    const hooks = (route.hooks ?? {}) as RouteHooks;
    if (hooks.detail?.hide) continue;
    const operation = paths[route.path.replace(/:([^/]+)/g, '{$1}')]?.[route.method.toLowerCase()];
    if (!operation) continue;
    if (hooks.body) {
      const schema = unwrapSchema(hooks.body as Parameters<typeof unwrapSchema>[0], undefined, 'input');
      operation.requestBody = {
        ...(schema?.description ? { description: schema.description } : {}),
        required: true,
        content: { 'application/json': { schema } },
      };
    }
    operation.responses = exactResponses(operation, hooks, Boolean(hooks.body));
  }
  // Through JSON first: the schemas are the routes' own objects, shared, and carry TypeBox's symbols.
  const document = JSON.parse(
    JSON.stringify({
      openapi: '3.1.1',
      info: base.info,
      paths,
      components: {
        ...base.components,
        schemas: { ...(generated.components.schemas as Json), Problem: ProblemModel },
      },
    }),
  );
  return withoutCoercionUnions(document) as Json;
}
