import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { type ProblemCode, problemCatalog, problemType } from '../errors.ts';
import { grantPlatformAdmin } from '../features/admin/grant.ts';
import { startTestApp, type TestApp, testConfig } from '../testing/harness.ts';
import type { JsonSchema } from './json-schema.ts';
import { type DocumentedOperation, type OpenApiDocument, operationsOf } from './operations.ts';
import { schemaInstance, uuidPointers } from './schema-instance.ts';
import { type Attackers, buildTwoTenants, type TenantFixture } from './two-tenants.ts';

/**
 * Broken object-level authorization (BOLA / IDOR), derived from the OpenAPI document. Every operation
 * with a path parameter is called with tenant B's ids by people and a key of tenant A, and by a viewer
 * of B on what a viewer may not do; every operation whose body or query string names an id is called
 * with one of B's ids in it. Each must be refused with problem+json (404, or 403 where the route checks
 * a permission first; 422 naming the field for an id in a body, which reads as unknown), never 2xx, no
 * answer may carry B's ids or names, and B's data must read the same afterwards. Controls then send the
 * same requests from the rightful side and must succeed, so a refusal is never a wrong fixture or a bad
 * body. A new route that names an id fails here until it has a fixture.
 */

/** The resource a path parameter names, keyed by the path up to and including the parameter. */
const fixtureByPathPrefix: Record<string, (tenant: TenantFixture) => string> = {
  '/v1/organizations/{id}': (tenant) => tenant.organizationId,
  '/v1/roles/{id}': (tenant) => tenant.roleId,
  '/v1/members/{userId}': (tenant) => tenant.memberUserId,
  '/v1/invitations/{id}': (tenant) => tenant.invitationId,
  '/v1/api-keys/{id}': (tenant) => tenant.apiKeyId,
  '/v1/auth/sessions/{id}': (tenant) => tenant.ownerSessionId,
  '/v1/credits/reservations/{id}': (tenant) => tenant.reservationId,
  '/v1/admin/tenants/{id}': (tenant) => tenant.tenantId,
  '/v1/webhooks/endpoints/{id}': (tenant) => tenant.webhookEndpointId,
  '/v1/webhooks/deliveries/{id}': (tenant) => tenant.webhookDeliveryId,
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

/** The resource an id in a request body names, keyed by its JSON pointer. */
const fixtureByBodyPointer: Record<string, (tenant: TenantFixture) => string> = {
  '/parentId': (tenant) => tenant.rootOrganizationId,
  '/organizationId': (tenant) => tenant.organizationId,
  '/roleIds/0': (tenant) => tenant.roleId,
  '/tenantId': (tenant) => tenant.tenantId,
};

/** The resource an id in a query string names (list cursors), keyed by `path?name`. */
const fixtureByQueryParameter: Record<string, (tenant: TenantFixture) => string> = {
  '/v1/members?cursor': (tenant) => tenant.memberUserId,
  '/v1/organizations?cursor': (tenant) => tenant.organizationId,
  '/v1/credits/transactions?cursor': (tenant) => tenant.transactionId,
  '/v1/admin/tenants?cursor': (tenant) => tenant.tenantId,
  '/v1/admin/audit-logs?tenantId': (tenant) => tenant.tenantId,
  '/v1/auth/oidc/{provider}/start?tenantId': (tenant) => tenant.tenantId,
  '/v1/webhooks/deliveries?endpointId': (tenant) => tenant.webhookEndpointId,
  '/v1/webhooks/deliveries?cursor': (tenant) => tenant.webhookDeliveryId,
};

/** Operations whose body ids this suite cannot reach, and what covers them instead. */
const bodyIdsCoveredElsewhere: Record<string, string> = {
  'POST /v1/auth/oidc/exchange':
    'its tenantId is read only after a one-time code that a provider sign-in hands out (oidc.test.ts); the tenant is chosen by chooseTenant, as in POST /v1/auth/login, which is attacked here',
};

/** An operation of the document, with the JSON pointers where its body names an id (`/roleIds/0`). */
interface Operation extends DocumentedOperation {
  bodyIds: string[];
}

interface Caller {
  label: string;
  /** None on a public operation, which names its caller in the body. */
  token?: string;
  email?: string;
  password?: string;
  /** Whether the token holds a permission in the tenant it is scoped to. */
  holds: (permission: string) => boolean;
}

/** Whose resources a request names: in its path, and in its body (one pointer may name another's). */
interface Target {
  pathTenant: TenantFixture;
  bodyTenant: TenantFixture;
  /** Fill every id parameter of the query string with this tenant's resources. */
  queryTenant?: TenantFixture;
  /** The one body pointer that names `foreignTenant`'s resource instead. */
  foreignPointer?: string;
  foreignTenant?: TenantFixture;
}

let app: TestApp;
let a: TenantFixture;
let b: TenantFixture;
let attackers: Attackers;
let operations: Operation[];
let before: Record<string, unknown>;
const requestsSent: Record<string, number> = {};

const engine = testConfig.DATABASE_URL ? 'Postgres + Redis' : 'PGlite';
const withPathParameter = () =>
  operations.filter((operation) => operation.parameters.some((item) => item.in === 'path'));
const withBodyIds = () =>
  operations.filter((operation) => operation.bodyIds.length > 0 && !bodyIdsCoveredElsewhere[operation.key]);

const isIdParameter = (parameter: { in: string; schema?: JsonSchema }) =>
  parameter.in === 'query' && parameter.schema?.format === 'uuid';
const withQueryIds = () => operations.filter((operation) => operation.parameters.some(isIdParameter));

const documentOperations = (document: OpenApiDocument): Operation[] =>
  operationsOf(document).map((operation) => ({
    ...operation,
    bodyIds: operation.body ? uuidPointers(operation.body) : [],
  }));

const namedParameterOf = (operation: Operation) =>
  Object.entries(namedParameters).find(([prefix]) => operation.path.startsWith(prefix))?.[1];

function pathValue(operation: Operation, name: string, tenant: TenantFixture): string {
  const prefix = operation.path.slice(0, operation.path.indexOf(`{${name}}`) + name.length + 2);
  const named = namedParameters[prefix];
  if (named) return named.value;
  const fixture = fixtureByPathPrefix[prefix];
  if (!fixture)
    throw new Error(
      `add a fixture for path parameter "${name}" of ${operation.key}: an entry "${prefix}" in fixtureByPathPrefix (an id of a tenant's resource) or in namedParameters`,
    );
  return fixture(tenant);
}

/** The value at a body pointer: an id of the target's tenant, the caller's own credentials, or generated. */
function bodyValue(operation: Operation, at: string, target: Target, caller: Caller): unknown {
  // A public operation names its caller in the body: the attacker signs in as themselves.
  if (!operation.secured && at === '/email') return caller.email;
  if (!operation.secured && at === '/password') return caller.password;
  if (!operation.bodyIds.includes(at)) return undefined;
  if (at === target.foreignPointer && target.foreignTenant) {
    const fixture = fixtureByBodyPointer[at];
    if (!fixture)
      throw new Error(`add a fixture for body id "${at}" of ${operation.key} in fixtureByBodyPointer`);
    return fixture(target.foreignTenant);
  }
  return fixtureByBodyPointer[at]?.(target.bodyTenant);
}

/** The concrete request: the target's ids in the path and the body, a valid body, required parameters. */
function requestFor(operation: Operation, target: Target, caller: Caller) {
  let path = operation.path;
  const query = new URLSearchParams();
  const headers: Record<string, string> = {};
  for (const parameter of operation.parameters) {
    if (parameter.in === 'path') {
      const value = pathValue(operation, parameter.name, target.pathTenant);
      path = path.replace(`{${parameter.name}}`, encodeURIComponent(value));
    } else if (target.queryTenant && isIdParameter(parameter)) {
      const fixture = fixtureByQueryParameter[`${operation.path}?${parameter.name}`];
      if (!fixture)
        throw new Error(
          `add a fixture for query parameter "${parameter.name}" of ${operation.key}: an entry "${operation.path}?${parameter.name}" in fixtureByQueryParameter`,
        );
      query.set(parameter.name, fixture(target.queryTenant));
    } else if (parameter.required) {
      const value = String(schemaInstance(parameter.schema));
      if (parameter.in === 'query') query.set(parameter.name, value);
      if (parameter.in === 'header') headers[parameter.name] = value;
    }
  }
  const body = operation.body
    ? schemaInstance(operation.body, {
        valueAt: (at) => bodyValue(operation, at, target, caller),
      })
    : undefined;
  return { path: query.size > 0 ? `${path}?${query}` : path, body, headers };
}

async function send(operation: Operation, target: Target, caller: Caller) {
  const request = requestFor(operation, target, caller);
  requestsSent[caller.label] = (requestsSent[caller.label] ?? 0) + 1;
  const response = await app.request(operation.method, request.path, {
    token: caller.token,
    body: request.body,
    headers: request.headers,
  });
  return { request, response };
}

/** The answers that refuse a caller naming B's id in the path: 404, or 403 for a permission checked first. */
function pathRefusals(operation: Operation, caller: Caller): ProblemCode[] {
  const named = namedParameterOf(operation);
  if (named) return [named.answer];
  if (operation.permission) return caller.holds(operation.permission) ? ['not-found'] : ['forbidden'];
  // Routes without a catalog permission (the caller's own sessions, platform administration) may
  // refuse the caller first where their document says they answer 403.
  return operation.responses.includes('403') ? ['not-found', 'forbidden'] : ['not-found'];
}

/**
 * B's ids, names and addresses in an answer to someone outside B, other than those the request itself
 * sent (a problem may echo the path it answers).
 */
function leakedFromB(sent: Awaited<ReturnType<typeof send>>): string[] {
  const asked = `${sent.request.path} ${JSON.stringify(sent.request.body ?? null)}`;
  const answered =
    typeof sent.response.body === 'string' ? sent.response.body : JSON.stringify(sent.response.body);
  return b.secrets.filter((secret) => answered.includes(secret) && !asked.includes(secret));
}

/** What was not one of the allowed refusals, as a line for the failure list (or null). */
function notRefused(
  label: string,
  sent: Awaited<ReturnType<typeof send>>,
  allowed: ProblemCode[],
): string | null {
  const { request, response } = sent;
  const leaked = leakedFromB(sent);
  if (leaked.length > 0)
    return `${label} ${request.path}: ${response.status} answered with B's ${leaked.join(', ')}`;
  const contentType = response.headers.get('content-type') ?? '';
  const type = typeof response.body === 'object' ? response.body?.type : undefined;
  const refused = allowed.some(
    (code) =>
      response.status === problemCatalog[code].status &&
      type === problemType(code) &&
      contentType.startsWith('application/problem+json'),
  );
  if (refused) return null;
  const why =
    response.status === 422 && !allowed.includes('validation-failed')
      ? ' (the body generated from the schema was refused: it proves nothing about ownership)'
      : response.status < 300
        ? ' (reached from outside its tenant)'
        : '';
  return `${label} ${request.path}: ${response.status} ${type ?? contentType}, wanted ${allowed.join(' or ')}${why} ${JSON.stringify(request.body ?? null)} → ${JSON.stringify(response.body)}`;
}

/** Every operation with a path parameter, sent with B's ids; what was not a proper refusal. */
async function attackPaths(caller: Caller, selected: Operation[]): Promise<string[]> {
  const failures: string[] = [];
  for (const operation of selected) {
    // The body names B's own ids too: the request is exactly the one B's owner sends in the control.
    const sent = await send(operation, { pathTenant: b, bodyTenant: b }, caller);
    const failure = notRefused(`${caller.label} ${operation.method}`, sent, pathRefusals(operation, caller));
    if (failure) failures.push(failure);
  }
  return failures;
}

/**
 * Every operation with an id in its body, sent with one of B's ids at a time (A's own elsewhere, A's in
 * the path). A reference to another tenant's resource reads as one that does not exist: 422 naming the
 * field, or 403/404 where the route looks it up as an access scope or a resource. The control proves the
 * same body with A's own ids is accepted.
 */
async function attackBodies(caller: Caller, aimsAt: (pointer: string) => boolean): Promise<string[]> {
  const failures: string[] = [];
  for (const operation of withBodyIds()) {
    for (const pointer of operation.bodyIds.filter(aimsAt)) {
      const target = { pathTenant: a, bodyTenant: a, foreignPointer: pointer, foreignTenant: b };
      const sent = await send(operation, target, caller);
      const label = `${caller.label} ${operation.method} ${pointer} of`;
      const failure = notRefused(label, sent, ['validation-failed', 'not-found', 'forbidden']);
      if (failure) failures.push(failure);
      // A 422 must be about the foreign id, not another field of the generated body.
      const errors: Array<{ path: string }> = sent.response.body?.errors ?? [];
      const namesTheId = errors.some((error) => `${pointer}/`.startsWith(`${error.path}/`));
      if (sent.response.status === 422 && !namesTheId)
        failures.push(
          `${label} ${operation.key}: the 422 does not name ${pointer}: ${JSON.stringify(errors)}`,
        );
    }
  }
  return failures;
}

/** Sends each request from the rightful side; what did not reach its resource. */
async function unreached(
  sends: Array<() => Promise<Awaited<ReturnType<typeof send>>>>,
  label: (sent: Awaited<ReturnType<typeof send>>) => string,
): Promise<string[]> {
  const failures: string[] = [];
  for (const next of sends) {
    const sent = await next();
    // 409: found, but in a state that refuses the change (a reservation captured a moment ago).
    if (sent.response.status < 300 || sent.response.status === 409) continue;
    failures.push(
      `${label(sent)}: ${sent.response.status} ${JSON.stringify(sent.request.body ?? null)} → ${JSON.stringify(sent.response.body)}`,
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
  // Refusals of a member signed in to B are audited in B (access.denied), which adds audit.recorded
  // events to B's log: those are the trail of the attacks, not a change of B's data.
  const log = snapshot['/v1/events'] as { items: Array<{ type: string }> };
  snapshot['/v1/events'] = log.items.filter((event) => event.type !== 'audit.recorded');
  return snapshot;
}

beforeAll(async () => {
  app = await startTestApp();
  const document: OpenApiDocument = (await app.request('GET', '/docs/json')).body;
  ({ a, b, attackers } = await buildTwoTenants(app));
  operations = documentOperations(document);
  before = await snapshotOfB();
});

afterAll(async () => {
  const total = Object.values(requestsSent).reduce((sum, count) => sum + count, 0);
  console.log(
    `IDOR suite on ${engine}: ${operations ? withPathParameter().length : 0} operations with a path parameter, ` +
      `${operations ? withBodyIds().length : 0} with ids in the body and ${operations ? withQueryIds().length : 0} in the query covered, of ${operations?.length ?? 0} in the document; ` +
      `${total} requests sent ` +
      `(${Object.entries(requestsSent)
        .map(([caller, count]) => `${caller}: ${count}`)
        .join('; ')})`,
  );
  await app.dispose();
});

const aOwner = (): Caller => ({
  label: "A's owner",
  token: a.ownerToken,
  email: a.ownerEmail,
  password: a.ownerPassword,
  holds: () => true,
});

describe('BOLA / IDOR across tenants', () => {
  test('every operation naming an id (in its path, body or query) has a fixture and a valid request', () => {
    expect(withPathParameter().length).toBeGreaterThan(10);
    expect(withBodyIds().length).toBeGreaterThan(3);
    expect(withQueryIds().length).toBeGreaterThan(3);
    const unbuildable: string[] = [];
    for (const operation of operations) {
      // A body the document leaves undescribed would be sent empty and prove nothing.
      if (operation.hasRequestBody && !operation.body)
        unbuildable.push(`${operation.key}: the document declares a request body with no content`);
      const targets: Target[] = [
        { pathTenant: b, bodyTenant: b },
        ...(withQueryIds().includes(operation) ? [{ pathTenant: a, bodyTenant: a, queryTenant: b }] : []),
        ...operation.bodyIds.map((pointer) => ({
          pathTenant: a,
          bodyTenant: a,
          foreignPointer: pointer,
          foreignTenant: b,
        })),
      ];
      for (const target of targets) {
        try {
          requestFor(operation, target, aOwner());
        } catch (error) {
          unbuildable.push(`${operation.key}: ${(error as Error).message}`);
        }
      }
    }
    expect(unbuildable).toEqual([]);
  });

  test("tenant A's owner gets 404 for each of B's ids in a path", async () => {
    expect(await attackPaths(aOwner(), withPathParameter())).toEqual([]);
  });

  test("a person in both tenants, signed in to A, gets 404 for each of B's ids in a path", async () => {
    // First she reads what a viewer of B may, signed in to B: those passed checks are remembered
    // (decision 0010) and must not carry over to her A-scoped token naming the same ids.
    const holdsInB = (permission: string) => attackers.malloryPermissionsB.includes(permission);
    const hers = withPathParameter().filter(
      (operation) => operation.method === 'GET' && operation.permission && holdsInB(operation.permission),
    );
    expect(hers.length).toBeGreaterThan(0);
    const asViewer = {
      label: 'viewer of B reading B (legitimate, first)',
      token: attackers.malloryTokenB,
      holds: holdsInB,
    };
    for (const operation of hers) {
      const { request, response } = await send(operation, { pathTenant: b, bodyTenant: b }, asViewer);
      expect({ path: request.path, status: response.status }).toEqual({ path: request.path, status: 200 });
    }
    const caller = {
      label: 'owner of A and viewer of B, A-scoped',
      token: attackers.malloryTokenA,
      holds: () => true,
    };
    expect(await attackPaths(caller, withPathParameter())).toEqual([]);
  });

  test('the same person signed in to B is refused each change a viewer may not make', async () => {
    const holds = (permission: string) => attackers.malloryPermissionsB.includes(permission);
    // What she may do in B as its member is not an attack: the reads her role allows.
    const beyondHerRole = withPathParameter().filter((operation) =>
      operation.permission ? !holds(operation.permission) : operation.method !== 'GET',
    );
    expect(beyondHerRole.length).toBeGreaterThan(5);
    const caller = { label: 'owner of A and viewer of B, B-scoped', token: attackers.malloryTokenB, holds };
    expect(await attackPaths(caller, beyondHerRole)).toEqual([]);
  });

  test("an API key of A with every scope gets 404 for each of B's ids in a path", async () => {
    const caller = { label: "A's API key", token: attackers.apiKeyA, holds: () => true };
    expect(await attackPaths(caller, withPathParameter())).toEqual([]);
  });

  // A reference to another tenant's resource reads as one that does not exist: 422 on the field, or
  // 403/404 where the route looks it up as a permission or a resource. The control below proves the
  // same body with A's own ids is accepted.
  test("tenant A's owner is refused each of B's ids in a request body", async () => {
    expect(await attackBodies(aOwner(), () => true)).toEqual([]);
  });

  test("a person in both tenants, signed in to A, is refused B's ids in a body", async () => {
    const caller = {
      label: 'owner of A and viewer of B, A-scoped',
      token: attackers.malloryTokenA,
      holds: () => true,
    };
    // As a member of B she may sign in to B or switch to it: naming B's tenant is hers to do.
    expect(await attackBodies(caller, (pointer) => pointer !== '/tenantId')).toEqual([]);
  });

  test("an API key of A with every scope is refused B's ids in a body", async () => {
    const caller = { label: "A's API key", token: attackers.apiKeyA, holds: () => true };
    // A key belongs to one tenant and has no session to move: choosing a tenant is not its to try.
    expect(await attackBodies(caller, (pointer) => pointer !== '/tenantId')).toEqual([]);
  });

  test('the same bodies with A’s own ids are accepted (control)', async () => {
    const control = { ...aOwner(), label: "A's owner (control)" };
    const failures = await unreached(
      withBodyIds().map((operation) => () => send(operation, { pathTenant: a, bodyTenant: a }, control)),
      (sent) => sent.request.path,
    );
    expect(failures).toEqual([]);
  });

  // A list's cursor from B only positions A's own list: the answer is A's rows (or a refusal), with
  // nothing of B in it.
  test("tenant A's owner naming B's ids in a query string sees nothing of B", async () => {
    const failures: string[] = [];
    for (const operation of withQueryIds()) {
      const sent = await send(operation, { pathTenant: a, bodyTenant: a, queryTenant: b }, aOwner());
      const named = namedParameterOf(operation);
      if (sent.response.status === 200 && !named) {
        const leaked = leakedFromB(sent);
        if (leaked.length > 0) failures.push(`${operation.key}: answered with B's ${leaked.join(', ')}`);
        continue;
      }
      const allowed: ProblemCode[] = named
        ? [named.answer]
        : operation.permission
          ? ['not-found', 'validation-failed']
          : ['not-found', 'validation-failed', 'forbidden'];
      const failure = notRefused(`A's owner ${operation.method}`, sent, allowed);
      if (failure) failures.push(failure);
    }
    expect(failures).toEqual([]);
  });

  test("B's data reads the same after the attacks", async () => {
    expect(await snapshotOfB()).toEqual(before);
  });

  // Last, since it changes B: the same requests from B's own side reach every fixture, so the 404s
  // above are refusals of the caller, not ids or bodies that would fail for anyone.
  test("B's owner (a platform admin on platform routes) reaches each fixture in a path (control)", async () => {
    const admin = await app.signUp({ organizationName: 'Platform' });
    expect(await grantPlatformAdmin(app.database, admin.email)).toBe(true);
    const owner: Caller = { label: "B's owner (control)", token: b.ownerToken, holds: () => true };
    const platform: Caller = { label: 'platform admin (control)', token: admin.token, holds: () => true };
    const order = ['GET', 'PUT', 'PATCH', 'POST', 'DELETE'];
    const ownedByB = withPathParameter()
      .filter((operation) => !namedParameterOf(operation))
      .sort((x, y) => order.indexOf(x.method) - order.indexOf(y.method));
    const target = { pathTenant: b, bodyTenant: b };
    const failures = await unreached(
      ownedByB.map((operation) => async () => {
        const sent = await send(operation, target, owner);
        return sent.response.status === 403 && !operation.permission
          ? send(operation, target, platform)
          : sent;
      }),
      (sent) => sent.request.path,
    );
    expect(failures).toEqual([]);
  });
});
