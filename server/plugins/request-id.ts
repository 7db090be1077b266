import { Elysia } from 'elysia';

const ACCEPTED = /^[A-Za-z0-9._:-]{1,128}$/;
const ids = new WeakMap<Request, { id: string; startedAt: number }>();

/** The request id of a request: the caller's `X-Request-Id` when it is sane, otherwise a new UUIDv7. */
export function requestIdOf(request: Request): string {
  return ids.get(request)?.id ?? 'unknown';
}

export function requestStartOf(request: Request): number {
  return ids.get(request)?.startedAt ?? performance.now();
}

export const requestId = new Elysia({ name: 'request-id' }).onRequest(({ request, set }) => {
  const incoming = request.headers.get('x-request-id');
  const id = incoming && ACCEPTED.test(incoming) ? incoming : Bun.randomUUIDv7();
  ids.set(request, { id, startedAt: performance.now() });
  set.headers['x-request-id'] = id;
});
