import { concatBytes, deepArray, deepObject, INVALID_UTF8, utf8, withRawBytes } from './json-edits.ts';
import {
  type Draft,
  pathOf,
  pickField,
  stringField,
  takesBody,
  type VariantContext,
  type VariantKind,
} from './variant-kind.ts';

/**
 * What any route must survive, whatever its schemas say: bad credentials, undeclared query strings and
 * headers; and for any method that may carry a body: bad encodings, content types, shapes and sizes.
 */

/** Kinds every operation gets: credentials, undeclared query strings and headers. */
export const everyOperation: VariantKind[] = [
  ['no Authorization', { credentials: 'none' }],
  ['Authorization "Bearer"', { credentials: 'custom', headers: { authorization: 'Bearer' } }],
  ['Authorization not a JWT', { credentials: 'custom', headers: { authorization: 'Bearer not.a.jwt' } }],
  ['Authorization Basic', { credentials: 'custom', headers: { authorization: 'Basic Zm9vOmJhcg==' } }],
  ['unknown API key', { credentials: 'custom', headers: { authorization: `Bearer wr_${'z'.repeat(40)}` } }],
  ['overlong bearer', { credentials: 'custom', headers: { authorization: `Bearer ${'a'.repeat(4000)}` } }],
  ['latin-1 bearer', { credentials: 'custom', headers: { authorization: 'Bearer é\u00ff' } }],
  ['two bearers', { credentials: 'custom', headers: { authorization: 'Bearer a, Bearer b' } }],
  ['tampered owner token', { credentials: 'tampered-owner' }],
  // The same request as the owner would send it, from a key with every scope: the API-key path.
  ['owner API key', { credentials: 'owner-api-key' }],
  ['unknown query field', { query: 'fuzz=1' }],
  ['unknown query int64', { query: 'fuzz=9223372036854775807' }],
  ['query invalid UTF-8', { query: '%ff%fe=%ED%A0%80' }],
  ['query NUL', { query: 'a=%00&%00=b' }],
  ['query bare percent', { query: 'a=%&b=%zz' }],
  ['query prototype keys', { query: '__proto__[x]=1&constructor[prototype][x]=1' }],
  ['query repeated', { query: 'a=1&a=2&a=3' }],
  ['query overlong', { query: `a=${'x'.repeat(4000)}` }],
  ['query empty pairs', { query: '&&=&=x&' }],
  ['junk X-Request-Id', { headers: { 'x-request-id': `${'r'.repeat(300)} ;<>` } }],
  ['junk Content-Type', { headers: { 'content-type': '};;==' } }],
  ['Accept XML', { headers: { accept: 'application/xml' } }],
  ['junk Accept-Encoding', { headers: { 'accept-encoding': 'fuzz;q=x, *;q=-1' } }],
  ['junk Cookie', { headers: { cookie: 'a=%ff; b; ===; session=é' } }],
  ['junk Origin', { headers: { origin: 'null' } }],
  ['junk X-Forwarded-For', { headers: { 'x-forwarded-for': '999.999.1.1, <script>, ::::' } }],
  ['junk If-None-Match and Range', { headers: { 'if-none-match': '"', range: 'bytes=junk' } }],
  ['method override header', { headers: { 'x-http-method-override': 'DELETE' } }],
  ['latin-1 custom header', { headers: { 'x-fuzz': 'é ÿ \u00a0' } }],
  [
    'many headers',
    { headers: Object.fromEntries(Array.from({ length: 80 }, (_, n) => [`x-fuzz-${n}`, `v${n}`])) },
  ],
  ['Expect 100-continue', { headers: { expect: '100-continue' } }],
  // A method the path does not declare must still be the API's problem+json, not the framework's text.
  ['method OPTIONS', { method: 'OPTIONS' }],
  ['unknown method', { method: 'PROPFIND' }],
  ['junk Accept-Language', { headers: { 'accept-language': '*;q=2, ¿' } }],
].map(([name, draft]) => ({ name: name as string, applies: () => true, draft: () => draft as Draft }));

/** Kinds for operations that may carry a body (any method but GET): content types, encodings, shape. */
export const bodyKinds: VariantKind[] = (
  [
    ['body null', () => ({ body: 'null' })],
    ['body array', () => ({ body: '[]' })],
    ['body string', () => ({ body: '"fuzz"' })],
    ['body number', () => ({ body: '7' })],
    ['body empty', () => ({ body: '' })],
    ['body truncated', ({ base }) => ({ body: JSON.stringify(base ?? { a: 1 }).slice(0, -1) })],
    ['body trailing garbage', ({ base }) => ({ body: `${JSON.stringify(base ?? {})}}}` })],
    ['body with a raw NUL byte', ({ base }) => ({ body: `${JSON.stringify(base ?? {})}\u0000` })],
    [
      'body invalid UTF-8',
      ({ base, random, fields }) => {
        const [label, bytes] = random.pick(INVALID_UTF8);
        const field = pickField({ base, random, fields } as VariantContext, stringField);
        return { note: label, body: withRawBytes(base ?? {}, pathOf(field), new Uint8Array(bytes)) };
      },
    ],
    [
      'body UTF-16 with BOM',
      ({ base }) => ({
        body: concatBytes(
          new Uint8Array([0xff, 0xfe]),
          new Uint8Array(Buffer.from(JSON.stringify(base ?? {}), 'utf16le')),
        ),
      }),
    ],
    [
      'body UTF-8 BOM',
      ({ base }) => ({
        body: concatBytes(new Uint8Array([0xef, 0xbb, 0xbf]), utf8(JSON.stringify(base ?? {}))),
      }),
    ],
    [
      'body deeply nested array',
      ({ random, bodyLimitBytes }) => {
        const depth = random.int(10_000, Math.min(100_000, Math.floor(bodyLimitBytes / 2) - 16));
        return { note: `depth ${depth}`, body: deepArray(depth) };
      },
    ],
    [
      'body deeply nested object',
      ({ random, bodyLimitBytes }) => {
        const depth = random.int(10_000, Math.min(40_000, Math.floor(bodyLimitBytes / 6) - 16));
        return { note: `depth ${depth}`, body: deepObject(depth) };
      },
    ],
    [
      'body huge array',
      ({ bodyLimitBytes }) => ({
        body: `[${Array(Math.floor(bodyLimitBytes / 2) - 8)
          .fill(1)
          .join(',')}]`,
      }),
    ],
    [
      'body many fields',
      ({ base }) => ({
        body: JSON.stringify({
          ...(base && typeof base === 'object' ? base : {}),
          ...Object.fromEntries(Array.from({ length: 8000 }, (_, n) => [`f${n}`, n])),
        }),
      }),
    ],
    [
      'body duplicate keys',
      ({ base }) => {
        const text = JSON.stringify(base ?? {});
        return { body: text === '{}' ? '{"a":1,"a":2}' : `${text.slice(0, -1)},${text.slice(1)}` };
      },
    ],
    [
      'body over the limit',
      ({ bodyLimitBytes }) => ({ body: JSON.stringify({ fuzz: 'x'.repeat(bodyLimitBytes + 1000) }) }),
    ],
    [
      'body prototype keys',
      ({ base }) => {
        const text = JSON.stringify(base ?? {});
        const rest = text === '{}' ? '}' : `,${text.slice(1)}`;
        return { body: `{"__proto__":{"isPlatformAdmin":true},"constructor":{"prototype":{"x":1}}${rest}` };
      },
    ],
    ['streamed body', () => ({ streamed: true })],
    [
      'streamed body over the limit',
      ({ bodyLimitBytes }) => ({
        streamed: true,
        body: JSON.stringify({ fuzz: 's'.repeat(bodyLimitBytes + 1000) }),
      }),
    ],
    [
      'streamed deeply nested body',
      ({ random, bodyLimitBytes }) => ({
        streamed: true,
        body: deepArray(random.int(10_000, Math.min(100_000, Math.floor(bodyLimitBytes / 2) - 16))),
      }),
    ],
    [
      'streamed invalid UTF-8',
      ({ base, random, fields }) => {
        const field = pickField({ base, random, fields } as VariantContext, stringField);
        const [label, bytes] = random.pick(INVALID_UTF8);
        return {
          note: label,
          streamed: true,
          body: withRawBytes(base ?? {}, pathOf(field), new Uint8Array(bytes)),
        };
      },
    ],
    ['Content-Type text/plain', () => ({ headers: { 'content-type': 'text/plain' } })],
    [
      'Content-Type form-urlencoded',
      () => ({
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'a=1&b=%00&c=%ff&a[]=2',
      }),
    ],
    [
      'multipart with junk',
      () => ({
        headers: { 'content-type': 'multipart/form-data; boundary=fuzz' },
        body: '--fuzz\r\nContent-Disposition: form-data; name="a"\r\n\r\n\u0000\u00ff\r\n--fuzz\r\njunk',
      }),
    ],
    [
      'multipart without boundary',
      () => ({ headers: { 'content-type': 'multipart/form-data' }, body: '--x\r\n\r\njunk' }),
    ],
    [
      'application/json; charset=latin1',
      ({ base, random, fields }) => {
        const field = pickField({ base, random, fields } as VariantContext, stringField);
        return {
          headers: { 'content-type': 'application/json; charset=latin1' },
          body: withRawBytes(base ?? {}, pathOf(field), new Uint8Array([0x63, 0x61, 0x66, 0xe9])),
        };
      },
    ],
    ['no Content-Type', () => ({ headers: { 'content-type': null } })],
    ['Content-Type octet-stream', () => ({ headers: { 'content-type': 'application/octet-stream' } })],
    ['Content-Type XML', () => ({ headers: { 'content-type': 'application/xml' }, body: '<a>&x;</a>' })],
    [
      'application/json; charset=utf-16',
      () => ({ headers: { 'content-type': 'application/json; charset=utf-16' } }),
    ],
    ['Content-Type vendor +json', () => ({ headers: { 'content-type': 'application/vnd.api+json' } })],
  ] as Array<[string, (context: VariantContext) => Draft]>
).map(([name, draft]) => ({ name, applies: takesBody, draft }));
