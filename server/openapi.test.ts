import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { problemType } from './errors.ts';
import { startTestApp, type TestApp } from './testing/harness.ts';
import { projectRoot } from './testing/server-process.ts';

// The document CRMs generate their clients from (`GET /docs/json`): valid, and exact about bodies,
// parameters, headers, answers and problems.

interface MediaType {
  schema?: Record<string, unknown>;
}
interface Response {
  description: string;
  content?: Record<string, MediaType>;
  headers?: Record<string, unknown>;
}
interface Operation {
  parameters?: Array<{ name: string; in: string; required?: boolean; schema?: unknown }>;
  requestBody?: { required?: boolean; content?: Record<string, MediaType> };
  responses?: Record<string, Response>;
  security?: unknown[];
  'x-permission'?: string;
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
}

let app: TestApp;
let document: Document;
let operations: Array<{ route: string; path: string; method: string; operation: Operation }>;

beforeAll(async () => {
  app = await startTestApp();
  document = (await app.request('GET', '/docs/json')).body;
  operations = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({
      route: `${method.toUpperCase()} ${path}`,
      path,
      method,
      operation,
    })),
  );
});
afterAll(() => app.dispose());

const PROBLEM = { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } };

describe('the OpenAPI document (issue #10, C and D)', () => {
  test('is valid OpenAPI 3.1 (@seriousme/openapi-schema-validator)', async () => {
    expect(document.openapi).toStartWith('3.1.');
    const result = await new Validator().validate(document as unknown as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  test('every body, path parameter, required header and answer is described', async () => {
    const routes = app.routes();
    const withBody = routes
      .filter((route) => (route.hooks as { body?: unknown }).body)
      .map((route) => `${route.method} ${route.path.replace(/:([^/]+)/g, '{$1}')}`);
    expect(withBody.length).toBeGreaterThan(20);
    const missing: string[] = [];
    for (const { route, path, operation } of operations) {
      const body = operation.requestBody;
      if (withBody.includes(route)) {
        const schema = body?.content?.['application/json']?.schema;
        if (!schema || Object.keys(schema).length === 0) missing.push(`${route}: no JSON body schema`);
        if (Object.keys(body?.content ?? {}).length !== 1) missing.push(`${route}: bodies are JSON only`);
        if (body?.required !== true) missing.push(`${route}: body not required`);
      }
      for (const name of path.matchAll(/\{([^}]+)\}/g)) {
        const parameter = operation.parameters?.find((p) => p.in === 'path' && p.name === name[1]);
        if (parameter?.required !== true) missing.push(`${route}: path parameter ${name[1]} not required`);
      }
      const answers = Object.entries(operation.responses ?? {});
      if (!answers.some(([status]) => Number(status) < 400)) missing.push(`${route}: no success answer`);
      for (const [status, response] of answers) {
        const code = Number(status);
        if (!response.headers?.['X-Request-Id']) missing.push(`${route} ${status}: no X-Request-Id header`);
        if (code === 429 && !response.headers?.['Retry-After']) missing.push(`${route} 429: no Retry-After`);
        const types = Object.keys(response.content ?? {});
        if (code === 204 || (code >= 300 && code < 400)) {
          if (types.length > 0) missing.push(`${route} ${status}: content on an empty answer`);
        } else if (code < 300) {
          // One media type, or several for a download (the audit export: NDJSON or CSV), each with its schema.
          const schemas = types.map((type) => response.content?.[type]?.schema);
          if (types.length === 0 || schemas.some((schema) => !schema || Object.keys(schema).length === 0))
            missing.push(`${route} ${status}: no content schema`);
        } else if (route !== 'GET /readyz' && JSON.stringify(response.content) !== JSON.stringify(PROBLEM)) {
          missing.push(`${route} ${status}: not problem+json`);
        }
      }
    }
    expect(missing).toEqual([]);

    for (const route of ['POST /v1/credits/consume', 'POST /v1/credits/reservations']) {
      const operation = operations.find((entry) => entry.route === route)?.operation;
      expect(operation?.parameters).toContainEqual(
        expect.objectContaining({ name: 'idempotency-key', in: 'header', required: true }),
      );
      expect(operation?.responses?.['201']?.headers).toHaveProperty('idempotent-replayed');
    }
    // 503 from /readyz is the readiness answer itself, with its own schema.
    const readiness = operations.find((entry) => entry.route === 'GET /readyz')?.operation;
    expect(Object.keys(readiness?.responses?.['503']?.content ?? {})).toEqual(['application/json']);
  });

  test('every operation lists the problems it can answer, as problem+json', () => {
    const missing: string[] = [];
    for (const { route, operation } of operations) {
      const where = new Set((operation.parameters ?? []).map((parameter) => parameter.in));
      const expected: number[] = [];
      if (operation.security) expected.push(401, 429);
      if (operation['x-permission']) expected.push(403);
      if (where.has('path')) expected.push(404);
      if (where.has('query') || where.has('header')) expected.push(422);
      if (operation.requestBody && route !== 'POST /v1/billing/stripe/webhook')
        expected.push(400, 413, 415, 422);
      for (const status of expected) {
        const response = operation.responses?.[status];
        if (!response) missing.push(`${route}: no ${status}`);
        else if (JSON.stringify(response.content) !== JSON.stringify(PROBLEM))
          missing.push(`${route} ${status}: not problem+json`);
      }
    }
    expect(missing).toEqual([]);
    // The Problem schema is the one problem+json answers follow, and names each status's codes.
    expect(document.components.schemas.Problem).toMatchObject({
      type: 'object',
      required: ['type', 'title', 'status', 'requestId'],
    });
    const unauthorized = document.paths['/v1/organizations']?.post?.responses?.['401'];
    expect(unauthorized?.description).toContain('`unauthorized`');
    // What the document promises is what the API answers.
    expect(problemType('unsupported-media-type')).toBe('/problems/unsupported-media-type');
  });

  test('a client generated from it (openapi-typescript + openapi-fetch) typechecks and works', async () => {
    // openapi-typescript and openapi-fetch belong to the app's workspace: the generator drives the
    // TypeScript 5 API, which the server's TypeScript 7 does not have.
    const dir = mkdtempSync(join(projectRoot, 'app', 'node_modules', '.openapi-client-'));
    try {
      await Bun.write(join(dir, 'openapi.json'), JSON.stringify(document));
      const generate = Bun.spawnSync(
        [join(projectRoot, 'app/node_modules/.bin/openapi-typescript'), 'openapi.json', '-o', 'api.d.ts'],
        { cwd: dir },
      );
      expect({ exitCode: generate.exitCode, stderr: generate.stderr.toString() }).toMatchObject({
        exitCode: 0,
      });
      expect((await Bun.file(join(dir, 'api.d.ts')).text()).length).toBeGreaterThan(10_000);
      await Bun.write(join(dir, 'client.ts'), CLIENT);
      await Bun.write(
        join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            strict: true,
            noEmit: true,
            target: 'ES2022',
            module: 'ESNext',
            moduleResolution: 'bundler',
            lib: ['ES2023', 'DOM'],
            types: [],
            skipLibCheck: true,
          },
          include: ['*.ts'],
        }),
      );
      const tsc = Bun.spawnSync([join(projectRoot, 'node_modules/.bin/tsc'), '-p', dir], { cwd: dir });
      expect(`${tsc.stdout.toString()}${tsc.stderr.toString()}`).toBe('');
      expect(tsc.exitCode).toBe(0);

      const { signUpAndCreateOrganization } = (await import(join(dir, 'client.ts'))) as {
        signUpAndCreateOrganization(fetch: (request: Request) => Promise<globalThis.Response>): Promise<{
          organization: { id: string; name: string; parentId: string | null };
          rootOrganizationId: string;
          missingType: string | undefined;
          consumeStatus: number;
        }>;
      };
      const result = await signUpAndCreateOrganization((request) => app.handle(request));
      expect(result.organization).toEqual({
        id: expect.any(String),
        name: 'Made by a typed client',
        parentId: result.rootOrganizationId,
      });
      expect(result.missingType).toBe(problemType('not-found'));
      expect(result.consumeStatus).toBe(402);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

// Typechecked against the generated types: a wrong body or a missing required header must not compile
// (each `@ts-expect-error` fails the check if the document stops saying so).
const CLIENT = `import createClient from 'openapi-fetch';
import type { paths } from './api';

export async function signUpAndCreateOrganization(fetch: (request: Request) => Promise<Response>) {
  const client = createClient<paths>({ baseUrl: 'http://localhost', fetch });
  const signedUp = await client.POST('/v1/auth/signup', {
    body: {
      email: \`typed-\${crypto.randomUUID().slice(0, 8)}@example.test\`,
      password: 'correct horse battery',
      name: 'Typed Client',
      organizationName: 'Typed Org',
    },
  });
  if (!signedUp.data) throw new Error(\`signup: \${JSON.stringify(signedUp.error)}\`);
  const token: string = signedUp.data.accessToken;
  const rootOrganizationId: string = signedUp.data.organization.id;
  const headers = { authorization: \`Bearer \${token}\` };

  const created = await client.POST('/v1/organizations', {
    headers,
    body: { name: 'Made by a typed client', parentId: rootOrganizationId },
  });
  if (!created.data) throw new Error(\`create: \${JSON.stringify(created.error)}\`);
  const organization: { id: string; name: string; parentId: string | null } = {
    id: created.data.id,
    name: created.data.name,
    parentId: created.data.parentId,
  };

  const missing = await client.GET('/v1/organizations/{id}', {
    headers,
    params: { path: { id: crypto.randomUUID() } },
  });
  const missingType: string | undefined = missing.error?.type;

  const consumed = await client.POST('/v1/credits/consume', {
    headers,
    params: { header: { 'idempotency-key': \`typed-\${crypto.randomUUID()}\` } },
    body: { amount: 1, reason: 'typed client' },
  });
  const consumeStatus: number = consumed.response.status;

  const typeErrors = () => [
    // @ts-expect-error a name is a string
    client.POST('/v1/organizations', { headers, body: { name: 42 } }),
    // @ts-expect-error the Idempotency-Key header is required
    client.POST('/v1/credits/consume', { headers, body: { amount: 1, reason: 'no key' } }),
    // @ts-expect-error the path parameter is required
    client.GET('/v1/organizations/{id}', { headers }),
  ];
  void typeErrors;

  return { organization, rootOrganizationId, missingType, consumeStatus };
}
`;
