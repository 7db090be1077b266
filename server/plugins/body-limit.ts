import { Elysia } from 'elysia';
import { AppError, problemResponse, toProblem } from '../errors.ts';
import { requestIdOf } from './request-id.ts';

const tooLarge = (detail: string) => new AppError('payload-too-large', detail);

// The exact text of streamed bodies, for routes that verify a signature over the bytes received (a
// route's own text parser does not see a body this plugin has already read).
const rawBodies = new WeakMap<Request, string>();

/** The text of a request's body as received, when it was read by this plugin (streamed bodies). */
export const rawBodyOf = (request: Request): string | undefined => rawBodies.get(request);

/** Reads a streamed (chunked) body, refusing it as soon as it passes `maxBytes`. */
async function readLimited(body: ReadableStream<Uint8Array>, maxBytes: number): Promise<string> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let received = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    received += value.byteLength;
    if (received > maxBytes) {
      await reader.cancel();
      throw tooLarge(`The body is over the limit of ${maxBytes} bytes.`);
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

/**
 * Bodies over `maxBytes` get 413 problem+json: a declared length is refused before the body is read; a
 * streamed body without a length is read up to the limit. Bun.serve's own cap stays as a backstop.
 */
export function bodyLimit(maxBytes: number) {
  return new Elysia({ name: 'body-limit' })
    .onRequest(({ request }) => {
      const declared = Number(request.headers.get('content-length') ?? 0);
      if (declared > maxBytes) {
        const error = tooLarge(`The body is ${declared} bytes; the limit is ${maxBytes} bytes.`);
        return problemResponse(toProblem(error, requestIdOf(request)));
      }
    })
    .onParse({ as: 'global' }, async ({ request, contentType }) => {
      if (request.headers.has('content-length') || !request.body) return;
      const text = await readLimited(request.body, maxBytes);
      rawBodies.set(request, text);
      if (!contentType.startsWith('application/json')) return text;
      try {
        return JSON.parse(text);
      } catch {
        throw new AppError('malformed-json', 'The body could not be parsed; send valid JSON.');
      }
    });
}

/** Bun.serve's hard cap: far above the API limit, so the API's own 413 (with problem+json) answers first. */
export const transportBodyCap = (maxBytes: number) => Math.max(maxBytes * 16, 16 * 1024 * 1024);
