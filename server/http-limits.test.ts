import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ServerProcess, startServerProcess } from './testing/server-process.ts';

// Over real HTTP: Bun.serve sits in front of the app, and its own limits must not bypass problem+json.
let server: ServerProcess;
beforeAll(async () => {
  server = await startServerProcess({
    DATA_DIR: mkdtempSync(join(tmpdir(), 'wrapper-limits-')),
    DATABASE_URL: undefined,
  });
});
afterAll(() => server.stop());

const megabyte = JSON.stringify({ email: 'x@example.test', password: 'a'.repeat(1024 * 1024) });

async function expectTooLarge(response: Response) {
  expect(response.status).toBe(413);
  expect(response.headers.get('content-type')).toStartWith('application/problem+json');
  const body = (await response.json()) as { type: string; requestId: string };
  expect(body.type).toBe('/problems/payload-too-large');
  expect(body.requestId).toBe(response.headers.get('x-request-id') ?? '');
}

describe('body limits over HTTP', () => {
  test('a 1 MB body with a declared length gets 413 problem+json', async () => {
    const response = await fetch(`${server.baseUrl}/v1/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: megabyte,
    });
    await expectTooLarge(response);
  });

  test('a 1 MB streamed (chunked) body gets 413 problem+json', async () => {
    const bytes = new TextEncoder().encode(megabyte);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let offset = 0; offset < bytes.length; offset += 64 * 1024)
          controller.enqueue(bytes.slice(offset, offset + 64 * 1024));
        controller.close();
      },
    });
    const response = await fetch(`${server.baseUrl}/v1/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
    });
    await expectTooLarge(response);
  });

  test('a small streamed JSON body is still parsed and validated', async () => {
    const response = await fetch(`${server.baseUrl}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new Blob(['{"email":"nobody@example.test","password":"wrong password"}']).stream(),
    });
    expect(response.status).toBe(401);
    const malformed = await fetch(`${server.baseUrl}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new Blob(['{"email":']).stream(),
    });
    expect(malformed.status).toBe(400);
  });
});
