import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createApp } from '../app.ts';
import { type ProblemCode, problemCatalog, problemType } from '../errors.ts';
import { builtInRoles } from '../features/access/permissions.ts';
import { grantPlatformAdmin } from '../features/admin/grant.ts';
import { startTestApp, type TestApp, testAppDeps, testConfig } from '../testing/harness.ts';
import { type JsonSchema, schemaInstance } from './schema-instance.ts';
import { type Attackers, buildTwoTenants, type TenantBFixture } from './two-tenants.ts';

/**
 * Broken object-level authorization (BOLA / IDOR), derived from the OpenAPI document: every operation
 * with a path parameter is called with tenant B's ids by people and a key of tenant A, and by a viewer
 * of B on what a viewer may not do. Each must be refused with problem+json (404, or 403 where the route
 * checks a permission first), never 2xx, and B's data must read the same afterwards. A new route with a
 * path parameter fails here until it has a fixture, so none is skipped without a word.
 */

/** B's resource for each path parameter, keyed by the path up to and including the parameter. */
const fixtureByPathPrefix: Record<string, (b: TenantBFixture) => string> = {
  '/v1/organizations/{id}': (b) => b.organizationId,
  '/v1/roles/{id}': (b) => b.roleId,
  '/v1/members/{userId}': (b) => b.memberUserId,
  '/v1/invitations/{id}': (b) => b.invitationId,
  '/v1/api-keys/{id}': (b) => b.apiKeyId,
  '/v1/auth/sessions/{id}': (b) => b.ownerSessionId,
  '/v1/credits/reservations/{id}': (b) => b.reservationId,
  '/v1/admin/tenants/{id}': (b) => b.tenantId,
};

/**
 * Path parameters that are names rather than ids of a tenant's resource. They are still called, with a
 * name no tenant configured, and must answer with the problem given.
 */
const namedParameters: Record<string, { value: string; answer: ProblemCode; why: string }> = {
  '/v1/auth/oidc/{provider}': {
    value: 'tenant-b',
    answer: 'oidc-unknown-provider',
    why: 'sign-in providers are platform configuration, named by the operator; no tenant owns one',
  },
};

/**
 * Ids a request body may name that exist in every tenant (the built-in roles), so that the request is
 * one B's own owner could make; any other id in a body is fresh and refers to nothing.
 */
const sharedReferences: Array<[pointer: RegExp, id: string]> = [[/^\/roleIds\/\d+$/, builtInRoles.viewer.id]];
const uuidAt = (at: string) => sharedReferences.find(([pointer]) => pointer.test(at))?.[1];

interface DocumentOperation {
  parameters?: Array<{ name: string; in: string; required?: boolean; schema?: JsonSchema }>;
  requestBody?: { content?: Record<string, { schema?: JsonSchema }>; required?: boolean };
  responses?: Record<string, unknown>;
  'x-permission'?: string;
}

interface OpenApiDocument {
  paths: Record<string, Record<string, DocumentOperation>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

interface Operation {
  route: string;
  method: string;
  path: string;
  permission: string | undefined;
  declared: DocumentOperation;
  bodySchema: JsonSchema | undefined;
}

interface Attack {
  caller: string;
  token: string;
  /** The permissions the token holds in the tenant it is scoped to. */
  holds: (permission: string) => boolean;
}

let app: TestApp;
let document: OpenApiDocument;
let b: TenantBFixture;
let attackers: Attackers;
let operations: Operation[];
let before: Record<string, unknown>;
const requestsSent: Record<string, number> = {};
let bodiesFromRouteTable = 0;

const engine = testConfig.DATABASE_URL ? 'Postgres + Redis' : 'PGlite';

function resolveRef(ref: string): JsonSchema {
  const name = /^#\/components\/schemas\/(.+)$/.exec(ref)?.[1];
  const schema = name ? document.components?.schemas?.[name] : undefined;
  if (!schema) throw new Error(`unresolvable $ref ${ref}`);
  return schema;
}

/**
 * Until the document describes request bodies (its entries are `content: {}` today), the body schema
 * comes from the route table: the same TypeBox schema the route validates with, which is JSON Schema.
 */
function routeTableBodies(): Map<string, JsonSchema> {
  const bodies = new Map<string, JsonSchema>();
  for (const route of createApp(testAppDeps(app.database)).routes) {
    const body = (route.hooks as { body?: unknown } | undefined)?.body;
    if (body && typeof body === 'object')
      bodies.set(`${route.method} ${route.path.replaceAll(/:(\w+)/g, '{$1}')}`, body as JsonSchema);
  }
  return bodies;
}

function operationsWithPathParameters(): Operation[] {
  const fallback = routeTableBodies();
  return Object.entries(document.paths).flatMap(([path, byMethod]) =>
    Object.entries(byMethod)
      .filter(([, declared]) => declared.parameters?.some((parameter) => parameter.in === 'path'))
      .map(([method, declared]) => {
        const route = `${method.toUpperCase()} ${path}`;
        let bodySchema = declared.requestBody?.content?.['application/json']?.schema;
        if (!bodySchema && declared.requestBody) {
          bodySchema = fallback.get(route);
          if (bodySchema) bodiesFromRouteTable += 1;
        }
        return {
          route,
          method: method.toUpperCase(),
          path,
          permission: declared['x-permission'],
          declared,
          bodySchema,
        };
      }),
  );
}

/** The concrete request for an operation: B's ids in the path, a valid body and required parameters. */
function requestFor(operation: Operation): { path: string; body?: unknown; headers: Record<string, string> } {
  let path = operation.path;
  const query = new URLSearchParams();
  const headers: Record<string, string> = {};
  for (const parameter of operation.declared.parameters ?? []) {
    if (parameter.in === 'path') {
      const prefix = path.slice(0, path.indexOf(`{${parameter.name}}`) + parameter.name.length + 2);
      const named = namedParameters[prefix];
      const fixture = fixtureByPathPrefix[prefix];
      if (!named && !fixture)
        throw new Error(
          `add a fixture for "${parameter.name}" of ${operation.route}: an entry "${prefix}" in fixtureByPathPrefix (an id of tenant B) or in namedParameters`,
        );
      path = path.replace(
        `{${parameter.name}}`,
        encodeURIComponent(named ? named.value : (fixture?.(b) ?? '')),
      );
    } else if (parameter.required) {
      const value = String(schemaInstance(parameter.schema ?? { type: 'string' }, { resolveRef }));
      if (parameter.in === 'query') query.set(parameter.name, value);
      if (parameter.in === 'header') headers[parameter.name] = value;
    }
  }
  const body = operation.bodySchema
    ? schemaInstance(operation.bodySchema, { resolveRef, uuid: uuidAt })
    : undefined;
  const search = query.size > 0 ? `?${query}` : '';
  return { path: `${path}${search}`, body, headers };
}

const namedParameterOf = (operation: Operation) =>
  Object.entries(namedParameters).find(([prefix]) => operation.path.startsWith(prefix))?.[1];

/** The answers that refuse this caller: 404, or 403 where the route checks a permission before looking. */
function refusalsFor(operation: Operation, attack: Attack): ProblemCode[] {
  const named = namedParameterOf(operation);
  if (named) return [named.answer];
  if (operation.permission) return attack.holds(operation.permission) ? ['not-found'] : ['forbidden'];
  // Routes without a catalog permission (the caller's own sessions, platform administration) may
  // refuse the caller first where their document says they answer 403.
  return operation.declared.responses?.['403'] ? ['not-found', 'forbidden'] : ['not-found'];
}

/** Sends every operation as the attacker and returns what was not a proper refusal. */
async function attackAll(attack: Attack, selected: Operation[]): Promise<string[]> {
  const failures: string[] = [];
  for (const operation of selected) {
    const request = requestFor(operation);
    const response = await app.request(operation.method, request.path, {
      token: attack.token,
      body: request.body,
      headers: request.headers,
    });
    requestsSent[attack.caller] = (requestsSent[attack.caller] ?? 0) + 1;
    const allowed = refusalsFor(operation, attack);
    const contentType = response.headers.get('content-type') ?? '';
    const type = typeof response.body === 'object' ? response.body?.type : undefined;
    const matches = allowed.some(
      (code) =>
        response.status === problemCatalog[code].status &&
        type === problemType(code) &&
        contentType.startsWith('application/problem+json'),
    );
    if (matches) continue;
    const why =
      response.status === 422
        ? ' (the body generated from the schema was refused: it proves nothing about ownership)'
        : response.status < 300
          ? ' (B’s resource was reached from outside)'
          : '';
    failures.push(
      `${attack.caller} ${operation.method} ${request.path}: ${response.status} ${type ?? contentType}, wanted ${allowed.join(' or ')}${why} ${JSON.stringify(request.body ?? null)} → ${JSON.stringify(response.body)}`,
    );
  }
  return failures;
}

/** What B's owner sees of B through the API, for a before-and-after comparison. */
async function snapshotOfB(): Promise<Record<string, unknown>> {
  const paths = [
    '/v1/tenant',
    '/v1/organizations',
    `/v1/organizations/${b.organizationId}`,
    '/v1/roles',
    '/v1/members',
    '/v1/invitations',
    '/v1/api-keys',
    '/v1/credits',
    '/v1/credits/transactions',
    `/v1/credits/reservations/${b.reservationId}`,
    '/v1/billing/subscription',
    '/v1/auth/sessions',
    '/v1/events',
  ];
  const snapshot: Record<string, unknown> = {};
  for (const path of paths) {
    const response = await app.request('GET', path, { token: b.ownerToken });
    expect({ path, status: response.status }).toEqual({ path, status: 200 });
    snapshot[path] = response.body;
  }
  return snapshot;
}

beforeAll(async () => {
  app = await startTestApp();
  document = (await app.request('GET', '/docs/json')).body;
  ({ b, attackers } = await buildTwoTenants(app));
  operations = operationsWithPathParameters();
  before = await snapshotOfB();
});

afterAll(async () => {
  const total = Object.values(requestsSent).reduce((sum, count) => sum + count, 0);
  console.log(
    `IDOR suite on ${engine}: ${operations?.length ?? 0} operations with a path parameter covered ` +
      `(${bodiesFromRouteTable} bodies from the route table), ${total} requests sent ` +
      `(${Object.entries(requestsSent)
        .map(([caller, count]) => `${caller}: ${count}`)
        .join(', ')})`,
  );
  await app.dispose();
});

describe('BOLA / IDOR across tenants', () => {
  test('every operation with a path parameter has a fixture for it and a valid request', () => {
    expect(operations.length).toBeGreaterThan(10);
    const unbuildable: string[] = [];
    for (const operation of operations) {
      try {
        requestFor(operation);
      } catch (error) {
        unbuildable.push(`${operation.route}: ${(error as Error).message}`);
      }
    }
    expect(unbuildable).toEqual([]);
  });

  test("tenant A's owner gets 404 for each of B's ids", async () => {
    const failures = await attackAll(
      { caller: "A's owner", token: attackers.aliceToken, holds: () => true },
      operations,
    );
    expect(failures).toEqual([]);
  });

  test("a person in both tenants, signed in to A, gets 404 for each of B's ids", async () => {
    const failures = await attackAll(
      { caller: 'owner of A and viewer of B, A-scoped', token: attackers.malloryTokenA, holds: () => true },
      operations,
    );
    expect(failures).toEqual([]);
  });

  test('the same person signed in to B is refused each change a viewer may not make', async () => {
    const holds = (permission: string) => attackers.malloryPermissionsB.includes(permission);
    // What she may do in B as its member is not an attack: reads her role allows, and nothing else.
    const beyondHerRole = operations.filter((operation) =>
      operation.permission ? !holds(operation.permission) : operation.method !== 'GET',
    );
    expect(beyondHerRole.length).toBeGreaterThan(5);
    const failures = await attackAll(
      { caller: 'owner of A and viewer of B, B-scoped', token: attackers.malloryTokenB, holds },
      beyondHerRole,
    );
    expect(failures).toEqual([]);
  });

  test("an API key of A with every scope gets 404 for each of B's ids", async () => {
    const failures = await attackAll(
      { caller: "A's API key", token: attackers.apiKeyA, holds: () => true },
      operations,
    );
    expect(failures).toEqual([]);
  });

  test("B's data reads the same after the attacks", async () => {
    expect(await snapshotOfB()).toEqual(before);
  });

  // Last, since it changes B: the same requests from B's own side reach every fixture, so the 404s
  // above are refusals of the caller, not ids or bodies that would fail for anyone.
  test("B's owner (a platform admin on platform routes) reaches each fixture with the same requests", async () => {
    const admin = await app.signUp({ organizationName: 'Platform' });
    expect(await grantPlatformAdmin(app.database, admin.email)).toBe(true);
    const order = ['GET', 'PUT', 'PATCH', 'POST', 'DELETE'];
    const ownedByB = operations
      .filter((operation) => !namedParameterOf(operation))
      .sort((x, y) => order.indexOf(x.method) - order.indexOf(y.method));
    const unreached: string[] = [];
    for (const operation of ownedByB) {
      const request = requestFor(operation);
      const send = (token: string) => {
        requestsSent["B's side (control)"] = (requestsSent["B's side (control)"] ?? 0) + 1;
        return app.request(operation.method, request.path, {
          token,
          body: request.body,
          headers: request.headers,
        });
      };
      let response = await send(b.ownerToken);
      if (response.status === 403 && !operation.permission) response = await send(admin.token);
      // 409: found, but in a state that refuses the change (a reservation captured a moment ago).
      if (response.status < 300 || response.status === 409) continue;
      unreached.push(
        `${operation.method} ${request.path}: ${response.status} ${JSON.stringify(request.body ?? null)} → ${JSON.stringify(response.body)}`,
      );
    }
    expect(unreached).toEqual([]);
  });
});
