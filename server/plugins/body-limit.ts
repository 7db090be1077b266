import { Elysia } from 'elysia';
import { AppError, problemResponse, toProblem } from '../errors.ts';
import { parseJsonBody } from './json-body.ts';
import { requestIdOf } from './request-id.ts';
import { unstorableText } from './storable-text.ts';

const tooLarge = (detail: string) => new AppError('payload-too-large', detail);

// The exact text of every body this plugin read, for routes that verify a signature over the bytes
// received (a route's own parser never sees a body this plugin has already read).
const rawBodies = new WeakMap<Request, string>();

/** The text of a request's body as received. */
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

const isJson = (contentType: string) =>
  contentType === 'application/json' || /^application\/[\w.+-]*\+json$/.test(contentType);

export interface BodyLimitOptions {
  /** Routes (as declared, e.g. `/v1/billing/stripe/webhook`) that get their body as text, unparsed. */
  verbatimRoutes?: readonly string[];
}

/**
 * Every request body goes through here, so a new route cannot skip these checks. Bodies over `maxBytes`
 * get 413 problem+json (a declared length is refused before the body is read; a streamed body is read
 * up to the limit). JSON is parsed with bounded nesting and its strings checked (`parseJsonBody`); other
 * media types are 415, except on the verbatim routes. Bun.serve's own cap stays as a backstop.
 */
export function bodyLimit(maxBytes: number, options: BodyLimitOptions = {}) {
  const verbatim = new Set(options.verbatimRoutes ?? []);
  return new Elysia({ name: 'body-limit' })
    .onRequest(({ request }) => {
      const declared = Number(request.headers.get('content-length') ?? 0);
      if (declared > maxBytes) {
        const error = tooLarge(`The body is ${declared} bytes; the limit is ${maxBytes} bytes.`);
        return problemResponse(toProblem(error, requestIdOf(request)));
      }
    })
    .onParse({ as: 'global' }, async ({ request, contentType, route }) => {
      if (!request.body) return;
      const text = request.headers.has('content-length')
        ? await request.text()
        : await readLimited(request.body, maxBytes);
      rawBodies.set(request, text);
      if (verbatim.has(route)) return text;
      // Nothing returned would let Elysia read the (spent) body again; an empty body is no body.
      if (text.length === 0) return null;
      if (!isJson(contentType.toLowerCase())) {
        throw new AppError(
          'unsupported-media-type',
          `Send the body as application/json (it was ${contentType || 'of no declared type'}).`,
        );
      }
      return parseJsonBody(text);
    })
    .onTransform({ as: 'global' }, ({ query, params }) => {
      // Header values cannot carry either: HTTP parsing and the Headers class refuse NUL, and they are
      // byte strings. Bodies were checked as they were parsed.
      const inQuery = unstorableText(query);
      if (inQuery.length > 0) {
        throw new AppError(
          'validation-failed',
          'The query string has text that cannot be stored: NUL characters (U+0000) and unpaired surrogates are refused.',
          { errors: inQuery },
        );
      }
      if (unstorableText(params).length > 0) throw new AppError('not-found', 'No such resource.');
    });
}

/** Bun.serve's hard cap: far above the API limit, so the API's own 413 (with problem+json) answers first. */
export const transportBodyCap = (maxBytes: number) => Math.max(maxBytes * 16, 16 * 1024 * 1024);
