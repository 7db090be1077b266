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
    // The README's default start: development, the mode in which Elysia describes invalid values at length.
    NODE_ENV: undefined,
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

describe('an invalid body costs little in the default (development) mode (issue #10, B)', () => {
  const post = (body: string) =>
    fetch(`${server.baseUrl}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });

  test('nested invalid bodies are answered without their value while /healthz keeps answering', async () => {
    // 20 KB nested 10 000 deep held /healthz for 13.6 s; 240 KB nested 60 deep cost ~100 ms each.
    const deep = '['.repeat(10_000) + ']'.repeat(10_000);
    const wide = JSON.stringify({
      email: JSON.parse(`${'['.repeat(60)}${Array(120_000).fill('0').join(',')}${']'.repeat(60)}`),
      password: 'x',
    });
    const answers = Promise.all([post(deep), post(wide), post(wide), post(wide), post(wide)]);
    await Bun.sleep(5);
    const started = performance.now();
    const health = await fetch(`${server.baseUrl}/healthz`);
    const healthMs = performance.now() - started;
    expect(health.status).toBe(200);
    const [tooDeep, ...invalid] = await answers;
    if (!tooDeep) throw new Error('no answer to the deep body');
    expect(tooDeep.status).toBe(400);
    expect(((await tooDeep.json()) as { type: string }).type).toBe('/problems/json-too-deep');
    for (const response of invalid) {
      expect(response.status).toBe(422);
      const text = await response.text();
      expect(text.length).toBeLessThan(1000);
      expect(JSON.parse(text).errors.map((error: { path: string }) => error.path)).toContain('/email');
    }
    // Generous: these take milliseconds now, and held the event loop for seconds before.
    expect(healthMs).toBeLessThan(2000);
  });
});
