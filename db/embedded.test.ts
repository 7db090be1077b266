import { afterAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  runServerExpectingFailure,
  type ServerProcess,
  startServerProcess,
} from '../server/testing/server-process.ts';

// Always the embedded engine, whatever the surrounding test run uses.
const dataDir = mkdtempSync(join(tmpdir(), 'wrapper-embedded-'));
const embedded = { DATABASE_URL: undefined, REDIS_URL: undefined, DATA_DIR: dataDir };
const running: ServerProcess[] = [];

afterAll(async () => {
  for (const server of running) await server.stop('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

async function start(): Promise<ServerProcess> {
  const server = await startServerProcess(embedded);
  running.push(server);
  return server;
}

async function call(server: ServerProcess, method: string, path: string, token?: string, body?: unknown) {
  const response = await fetch(`${server.baseUrl}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, body: (await response.json()) as any };
}

const credentials = { email: 'durable@example.test', password: 'durable password' };

describe('embedded PGlite', () => {
  test('data survives a clean restart and a kill -9; a second process on the folder is refused', async () => {
    const first = await start();
    const signup = await call(first, 'POST', '/v1/auth/signup', undefined, {
      ...credentials,
      name: 'Dee',
      organizationName: 'Durable',
    });
    expect(signup.status).toBe(201);
    const created = await call(first, 'POST', '/v1/organizations', signup.body.accessToken, {
      name: 'Before restart',
    });
    expect(created.status).toBe(201);

    // A second process on the same data folder must be refused while the first runs.
    const second = await runServerExpectingFailure({ ...embedded, PORT: '0' });
    expect(second.exitCode).toBe(1);
    expect(second.stderr).toContain('is in use by another Wrapper process');
    expect((await call(first, 'GET', '/healthz')).status).toBe(200);

    // Clean restart.
    expect(await first.stop('SIGTERM')).toBe(0);
    const restarted = await start();
    const login = await call(restarted, 'POST', '/v1/auth/login', undefined, credentials);
    expect(login.status).toBe(200);
    // The JWT secret generated into the data folder survives too: the old token is still valid.
    const withOldToken = await call(restarted, 'GET', '/v1/organizations', signup.body.accessToken);
    expect(withOldToken.body.items.map((item: { name: string }) => item.name)).toEqual([
      'Durable',
      'Before restart',
    ]);

    const afterWrite = await call(restarted, 'POST', '/v1/organizations', login.body.accessToken, {
      name: 'Before kill',
    });
    expect(afterWrite.status).toBe(201);

    // kill -9: no shutdown hook runs; the committed write must still be there and the lock released.
    await restarted.stop('SIGKILL');
    const recovered = await start();
    const relogin = await call(recovered, 'POST', '/v1/auth/login', undefined, credentials);
    const list = await call(recovered, 'GET', '/v1/organizations', relogin.body.accessToken);
    expect(list.body.items.map((item: { name: string }) => item.name)).toEqual([
      'Durable',
      'Before restart',
      'Before kill',
    ]);
  }, 90_000);
});
