import { Elysia } from 'elysia';
import { AppError, problemResponse, toProblem } from '../errors.ts';
import { requestIdOf } from './request-id.ts';

/** Refuses declared bodies over the limit before they are read; Bun.serve caps undeclared (chunked) ones. */
export function bodyLimit(maxBytes: number) {
  return new Elysia({ name: 'body-limit' }).onRequest(({ request }) => {
    const declared = Number(request.headers.get('content-length') ?? 0);
    if (declared > maxBytes) {
      const problem = toProblem(
        new AppError('payload-too-large', `The body is ${declared} bytes; the limit is ${maxBytes} bytes.`),
        requestIdOf(request),
      );
      return problemResponse(problem);
    }
  });
}
