import type { FuzzOperation, FuzzParameter, JsonSchema } from './operations.ts';
import { type BodyField, fieldsOf, sampleOf, uuidFrom, wrongTypeFor } from './sample-values.ts';
import { requestSeed, type SeededRandom, seededRandom } from './seeded-random.ts';

/**
 * Malformed requests derived from an operation's schemas: its body fields, path, query and declared
 * headers, plus what any route must survive (bad credentials, encodings, content types, nesting, size).
 * Each variant differs from a plausible valid request (owner token, sampled values) in one place.
 */

/** Whose credentials go in `Authorization`: the owner's token or API key, none, or what `headers` say. */
export type Credentials = 'owner' | 'owner-api-key' | 'tampered-owner' | 'none' | 'custom';

export interface FuzzRequest {
  /** Position in the run; with the run's seed it rebuilds this request exactly. */
  index: number;
  operation: string;
  variant: string;
  method: string;
  /** Path and query as they go on the wire (already percent-encoded where meant). */
  target: string;
  headers: Record<string, string>;
  body: Uint8Array<ArrayBuffer> | null;
  /** Send the body as a stream (chunked, no Content-Length), as the body limit reads it apart. */
  streamed: boolean;
  credentials: Credentials;
}

interface Draft {
  note?: string;
  /** Path parameter values as they go on the wire (not encoded again). */
  pathValues?: Record<string, string>;
  /** The raw query string (without `?`), instead of the sampled one. */
  query?: string;
  /** Headers to set; null removes one the base request has. */
  headers?: Record<string, string | null>;
  /** The body instead of the sampled JSON (a string goes as UTF-8); null sends none. */
  body?: Uint8Array<ArrayBuffer> | string | null;
  credentials?: Credentials;
  streamed?: boolean;
}

interface VariantContext {
  operation: FuzzOperation;
  random: SeededRandom;
  bodyLimitBytes: number;
  /** The sampled valid body (undefined when the operation takes none). */
  base: unknown;
  fields: BodyField[];
  /** Ids of things that exist (the owner, their tenant and organization), for path values. */
  knownIds: readonly string[];
}

interface VariantKind {
  name: string;
  applies(operation: FuzzOperation): boolean;
  draft(context: VariantContext): Draft;
}

const RAW = 'FUZZ_RAW_MARKER_7f3a';
const utf8 = (text: string) => new TextEncoder().encode(text);
const concatBytes = (...parts: Uint8Array[]): Uint8Array<ArrayBuffer> => new Uint8Array(Buffer.concat(parts));
const parametersIn = (operation: FuzzOperation, where: FuzzParameter['in']) =>
  operation.parameters.filter((parameter) => parameter.in === where);
const takesBody = (operation: FuzzOperation) => operation.method !== 'GET';
const hasFields = (operation: FuzzOperation) => takesBody(operation) && operation.body !== null;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A copy of `value` with the field at `path` set (undefined deletes it), creating objects on the way. */
function withField(value: unknown, path: string[], field: unknown): unknown {
  const root: Record<string, unknown> = isRecord(value) ? structuredClone(value) : {};
  let node = root;
  for (const name of path.slice(0, -1)) {
    const next = node[name];
    const child: Record<string, unknown> = isRecord(next) ? next : {};
    node[name] = child;
    node = child;
  }
  const last = path.at(-1) ?? 'fuzz';
  if (field === undefined) delete node[last];
  else node[last] = field;
  return root;
}

/** The body with raw JSON text (numbers JSON.stringify would not write, deep nesting) at `path`. */
function withRawField(value: unknown, path: string[], raw: string): string {
  return JSON.stringify(withField(value, path, RAW)).replace(`"${RAW}"`, raw);
}

/** The body with raw bytes (e.g. invalid UTF-8) inside the string at `path`. */
function withRawBytes(value: unknown, path: string[], bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const [before, after] = JSON.stringify(withField(value, path, RAW)).split(RAW);
  return concatBytes(utf8(before ?? ''), bytes, utf8(after ?? ''));
}

function pickField(context: VariantContext, filter: (field: BodyField) => boolean = () => true) {
  const fields = context.fields.filter(filter);
  return fields.length ? context.random.pick(fields) : null;
}

const stringField = (field: BodyField) =>
  field.schema.type === 'string' || (field.schema.anyOf ?? []).some((option) => option.type === 'string');
const numberField = (field: BodyField) =>
  ['number', 'integer'].includes(String(field.schema.type)) ||
  (field.schema.anyOf ?? []).some((option) => ['number', 'integer'].includes(String(option.type)));

/** Field path of the chosen field, or a new top-level field when the body has none. */
const pathOf = (field: BodyField | null) => field?.path ?? ['fuzz'];

const INVALID_UTF8: ReadonlyArray<[string, number[]]> = [
  ['0xff', [0xff]],
  ['overlong "/"', [0xc0, 0xaf]],
  ['lone continuation byte', [0x80]],
  ['encoded surrogate (CESU-8)', [0xed, 0xa0, 0x80]],
  ['truncated sequence', [0xe2, 0x82]],
  ['five-byte form', [0xf8, 0x88, 0x80, 0x80, 0x80]],
  ['byte-order mark bytes', [0xfe, 0xff]],
];

const NUMBER_EDGES = [
  '9223372036854775807',
  '-9223372036854775809',
  '18446744073709551616',
  '1e23',
  '1e400',
  '-1e400',
  '1e-400',
  '-1',
  '0',
  '-0',
  '0.5',
  '9007199254740993',
  '123456789012345678901234567890',
  '"NaN"',
  '"Infinity"',
  '"1"',
  '1.0000000000000002',
];

const QUERY_EDGES = [
  '9223372036854775807',
  '-9223372036854775809',
  '1e23',
  '-1',
  'NaN',
  'Infinity',
  '',
  '1.5',
  '0x10',
  '9'.repeat(300),
  '%00',
  '%ff%fe',
  '%ED%A0%80',
  'null',
  'true',
  '%',
];

const PATH_EDGES: ReadonlyArray<[string, string]> = [
  ['not a uuid', 'not-a-uuid'],
  ['overlong', 'a'.repeat(3000)],
  ['percent-encoded NUL', 'a%00b'],
  ['percent-encoded invalid UTF-8', '%ff%fe'],
  ['percent-encoded surrogate', '%ED%A0%80'],
  ['bare percent', '%zz%'],
  ['dot-dot', '..'],
  ['encoded dot-dot', '%2e%2e'],
  ['encoded slash', 'a%2Fb'],
  ['unicode', encodeURIComponent('ünïcødé-☃')],
  ['nil uuid', '00000000-0000-0000-0000-000000000000'],
  ['braced uuid', '%7B0193a1a0-7c7e-7d4a-9c1e-2f1c8b2d9e10%7D'],
  ['uppercase uuid', '0193A1A0-7C7E-7D4A-9C1E-2F1C8B2D9E10'],
  ['int64', '9223372036854775807'],
  ['SQL-ish', encodeURIComponent("' or 1=1 --")],
];

const HEADER_EDGES: ReadonlyArray<[string, string]> = [
  ['empty', ''],
  ['spaces and symbols', 'a b/?*{}'],
  ['latin-1', 'é\u00ff'],
  ['tab', 'a\tb'],
  ['list', 'a, b, c'],
  ['very long', 'k'.repeat(6000)],
  ['int64', '9223372036854775807'],
];

const DATE_TIME_EDGES = [
  '0001-01-01T00:00:00Z',
  '1970-01-01T00:00:00Z',
  '1969-12-31T23:59:59.999Z',
  '9999-12-31T23:59:59.999Z',
  '2030-02-30T00:00:00Z',
  '2030-01-01T24:00:00Z',
  '2030-01-01T00:00:60Z',
  '2030-01-01T00:00:00+23:59',
  '2030-01-01T00:00:00.123456789Z',
  '+275760-09-13T00:00:00.000Z',
  '2030-01-01t00:00:00z',
];

const deepArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

/** Kinds every operation gets: credentials, undeclared query strings and headers. */
const everyOperation: VariantKind[] = [
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
  ['junk Accept-Language', { headers: { 'accept-language': '*;q=2, ¿' } }],
].map(([name, draft]) => ({ name: name as string, applies: () => true, draft: () => draft as Draft }));

/** Kinds for operations that may carry a body (any method but GET): content types, encodings, shape. */
const bodyKinds: VariantKind[] = (
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

/** Kinds derived from the body schema's fields. */
const fieldKinds: VariantKind[] = (
  [
    [
      'field of the wrong type',
      (context) => {
        const field = pickField(
          context,
          (candidate) => wrongTypeFor(candidate.schema, context.random) !== undefined,
        );
        const value = field ? wrongTypeFor(field.schema, context.random) : 42;
        return {
          note: `${pathOf(field).join('.')} = ${JSON.stringify(value)}`,
          body: JSON.stringify(withField(context.base, pathOf(field), value)),
        };
      },
    ],
    [
      'required field missing',
      (context) => {
        const field = pickField(context, (candidate) => candidate.required);
        if (!field) return { note: 'nothing required: empty object', body: '{}' };
        return {
          note: field.path.join('.'),
          body: JSON.stringify(withField(context.base, field.path, undefined)),
        };
      },
    ],
    [
      'extra field',
      (context) => {
        const parent = pickField(context, (candidate) => Boolean(candidate.schema.properties));
        const path = [
          ...(parent?.path ?? []),
          context.random.pick(['isPlatformAdmin', 'tenantId', 'fuzz', '__proto__']),
        ];
        return { note: path.join('.'), body: JSON.stringify(withField(context.base, path, true)) };
      },
    ],
    ['field with NUL', (context) => stringMutation(context, (value) => `${value}\u0000fuzz`)],
    ['field with a lone surrogate', (context) => stringMutation(context, () => 'a\uD800b')],
    ['field with a lone low surrogate', (context) => stringMutation(context, () => '\uDC00')],
    [
      'field with a huge string',
      (context) => stringMutation(context, () => 'h'.repeat(Math.floor(context.bodyLimitBytes * 0.8))),
    ],
    [
      'field one over maxLength',
      (context) => {
        const field = pickField(context, (candidate) => typeof candidate.schema.maxLength === 'number');
        const length = (field?.schema.maxLength ?? 10_000) + 1;
        return {
          note: `${pathOf(field).join('.')} ${length} chars`,
          body: JSON.stringify(withField(context.base, pathOf(field), 'm'.repeat(length))),
        };
      },
    ],
    [
      'field number edge',
      (context) => {
        const field = pickField(context, numberField) ?? pickField(context);
        const raw = context.random.pick(NUMBER_EDGES);
        return {
          note: `${pathOf(field).join('.')} = ${raw}`,
          body: withRawField(context.base, pathOf(field), raw),
        };
      },
    ],
    [
      'field bad format',
      (context) => {
        const field =
          pickField(context, (candidate) => Boolean(candidate.schema.format || candidate.schema.pattern)) ??
          pickField(context, stringField);
        const value = context.random.pick([
          'not-a-uuid',
          'no-at-sign',
          '2030-13-45T99:99:99Z',
          '../../etc/passwd',
          'javascript:alert(1)',
          ' ',
          '\u202e',
        ]);
        return {
          note: `${pathOf(field).join('.')} = ${JSON.stringify(value)}`,
          body: JSON.stringify(withField(context.base, pathOf(field), value)),
        };
      },
    ],
    [
      'field deeply nested',
      (context) => {
        const field = pickField(context);
        const depth = context.random.int(
          10_000,
          Math.min(30_000, Math.floor(context.bodyLimitBytes / 6) - 64),
        );
        const raw = context.random.chance(0.5) ? deepArray(depth) : deepObject(depth);
        return {
          note: `${pathOf(field).join('.')} depth ${depth}`,
          body: withRawField(context.base, pathOf(field), raw),
        };
      },
    ],
    [
      'field null',
      (context) => {
        const field = pickField(context);
        return {
          note: pathOf(field).join('.'),
          body: JSON.stringify(withField(context.base, pathOf(field), null)),
        };
      },
    ],
    ['field empty string', (context) => stringMutation(context, () => '')],
    ['field whitespace only', (context) => stringMutation(context, () => ' \t\n\u00a0\u2028')],
    // Valid at the edges, so the handler and the database get them, not only the validator.
    [
      'every optional field',
      ({ operation, random }) => ({
        body: JSON.stringify(sampleOf(operation.body as JsonSchema, random, 0, { everyField: true })),
      }),
    ],
    [
      'strings at maxLength',
      (context) =>
        boundaryBody(context, (field) =>
          stringField(field) && !field.schema.format && !field.schema.pattern && field.schema.maxLength
            ? 'ü'.repeat(field.schema.maxLength)
            : undefined,
        ),
    ],
    [
      'numbers at maximum',
      (context) =>
        boundaryBody(context, (field) => (numberField(field) ? boundOf(field.schema, 'maximum') : undefined)),
    ],
    [
      'numbers at minimum',
      (context) =>
        boundaryBody(context, (field) => (numberField(field) ? boundOf(field.schema, 'minimum') : undefined)),
    ],
    [
      'uuid fields with ids that exist',
      (context) =>
        boundaryBody(context, (field) => {
          if (!context.knownIds.length) return undefined;
          if (field.schema.format === 'uuid') return context.random.pick(context.knownIds);
          if (field.schema.type === 'array' && field.schema.items?.format === 'uuid')
            return [...context.knownIds];
          return undefined;
        }),
    ],
    [
      'date-times at the edges of time',
      (context) =>
        boundaryBody(context, (field) =>
          field.schema.format === 'date-time' ||
          field.schema.anyOf?.some((option) => option.format === 'date-time')
            ? context.random.pick(DATE_TIME_EDGES)
            : undefined,
        ),
    ],
    [
      'arrays at maxItems',
      (context) =>
        boundaryBody(context, (field) =>
          field.schema.type === 'array' && field.schema.items
            ? Array.from({ length: field.schema.maxItems ?? 100 }, () =>
                sampleOf(field.schema.items as JsonSchema, context.random),
              )
            : undefined,
        ),
    ],
  ] as Array<[string, (context: VariantContext) => Draft]>
).map(([name, draft]) => ({ name, applies: hasFields, draft }));

/** The schema's bound, also when it sits on one alternative of a union (`number | null`). */
function boundOf(schema: JsonSchema, bound: 'minimum' | 'maximum'): number | undefined {
  return schema[bound] ?? schema.anyOf?.map((option) => option[bound]).find((value) => value !== undefined);
}

/** The base body with every field that `edgeOf` has a value for set to it. */
function boundaryBody(context: VariantContext, edgeOf: (field: BodyField) => unknown): Draft {
  let body = context.base;
  const changed: string[] = [];
  for (const field of context.fields) {
    const value = edgeOf(field);
    if (value === undefined) continue;
    body = withField(body, field.path, value);
    changed.push(field.path.join('.'));
  }
  return { note: changed.join(', ') || 'no such field', body: JSON.stringify(body) };
}

function stringMutation(context: VariantContext, mutate: (value: string) => string): Draft {
  const field = pickField(context, stringField) ?? pickField(context);
  const path = pathOf(field);
  const value = mutate('fuzz');
  return {
    note: `${path.join('.')} (${value.length} chars)`,
    body: JSON.stringify(withField(context.base, path, value)),
  };
}

const pathKinds: VariantKind[] = PATH_EDGES.map(([label, value]) => ({
  name: `path ${label}`,
  applies: (operation) => parametersIn(operation, 'path').length > 0,
  draft: ({ operation, random }) => {
    const parameter = random.pick(parametersIn(operation, 'path'));
    return { note: parameter.name, pathValues: { [parameter.name]: value } };
  },
}));

pathKinds.push({
  name: 'path id of something that exists',
  applies: (operation) => parametersIn(operation, 'path').length > 0,
  draft: ({ operation, random, knownIds }) => {
    const parameter = random.pick(parametersIn(operation, 'path'));
    return {
      note: parameter.name,
      pathValues: { [parameter.name]: knownIds.length ? random.pick(knownIds) : 'fuzz' },
    };
  },
});

const queryKinds: VariantKind[] = [
  ...QUERY_EDGES.map((value) => ({ name: `query value ${JSON.stringify(value.slice(0, 24))}`, value })),
  { name: 'query array (repeated)', value: null },
  { name: 'query bracket array', value: null },
  { name: 'query one over maxLength', value: null },
].map(({ name, value }) => ({
  name,
  applies: (operation) => parametersIn(operation, 'query').length > 0,
  draft: ({ operation, random }) => {
    const parameter = random.pick(parametersIn(operation, 'query'));
    const key = encodeURIComponent(parameter.name);
    if (value !== null) return { note: parameter.name, query: `${key}=${value}` };
    if (name.includes('repeated')) return { note: parameter.name, query: `${key}=1&${key}=2` };
    if (name.includes('bracket')) return { note: parameter.name, query: `${key}[]=1&${key}[x]=2` };
    return { note: parameter.name, query: `${key}=${'q'.repeat((parameter.schema.maxLength ?? 3000) + 1)}` };
  },
}));

const headerKinds: VariantKind[] = [
  ...HEADER_EDGES.map(([label, value]) => ({ label, value: value as string | null })),
  { label: 'one over maxLength', value: null },
].map(({ label, value }) => ({
  name: `declared header ${label}`,
  applies: (operation) => parametersIn(operation, 'header').length > 0,
  draft: ({ operation, random }) => {
    const parameter = random.pick(parametersIn(operation, 'header'));
    const sent = value ?? 'h'.repeat((parameter.schema.maxLength ?? 1000) + 1);
    return { note: parameter.name, headers: { [parameter.name]: sent } };
  },
}));

// Schema-derived kinds first: a run too short for every kind of every operation (the CI size) keeps
// those and drops some of the generic header junk.
const allKinds = [
  ...fieldKinds,
  ...pathKinds,
  ...queryKinds,
  ...headerKinds,
  ...bodyKinds,
  ...everyOperation,
];

export function variantKindsOf(operation: FuzzOperation): string[] {
  return allKinds.filter((kind) => kind.applies(operation)).map((kind) => kind.name);
}

function headerSample(parameter: FuzzParameter, random: SeededRandom): string {
  // Unique per request, so an Idempotency-Key never replays another variant's answer.
  if (parameter.name.includes('idempotency')) return `fuzz-${uuidFrom(random)}`;
  return String(sampleOf(parameter.schema, random));
}

function build(
  operation: FuzzOperation,
  kind: VariantKind,
  index: number,
  random: SeededRandom,
  bodyLimitBytes: number,
  knownIds: readonly string[],
): FuzzRequest {
  const base = hasFields(operation) ? sampleOf(operation.body as JsonSchema, random) : undefined;
  const draft = kind.draft({
    operation,
    random,
    bodyLimitBytes,
    knownIds,
    base,
    fields: operation.body ? fieldsOf(operation.body) : [],
  });
  const pathValues: Record<string, string> = {};
  for (const parameter of parametersIn(operation, 'path'))
    pathValues[parameter.name] = encodeURIComponent(String(sampleOf(parameter.schema, random)));
  Object.assign(pathValues, draft.pathValues);
  const path = operation.path.replace(/\{([^}]+)\}/g, (_, name: string) => pathValues[name] ?? 'fuzz');
  const sampledQuery = parametersIn(operation, 'query')
    .filter((parameter) => parameter.required)
    .map(
      (parameter) =>
        `${encodeURIComponent(parameter.name)}=${encodeURIComponent(String(sampleOf(parameter.schema, random)))}`,
    )
    .join('&');
  const query = draft.query ?? sampledQuery;

  const headers: Record<string, string> = {};
  for (const parameter of parametersIn(operation, 'header'))
    headers[parameter.name] = headerSample(parameter, random);
  let body: Uint8Array<ArrayBuffer> | null = null;
  if (draft.body !== undefined) body = typeof draft.body === 'string' ? utf8(draft.body) : draft.body;
  else if (base !== undefined) body = utf8(JSON.stringify(base));
  if (body && takesBody(operation)) headers['content-type'] = 'application/json';
  for (const [name, value] of Object.entries(draft.headers ?? {})) {
    if (value === null) delete headers[name];
    else headers[name] = value;
  }
  return {
    index,
    operation: operation.key,
    variant: draft.note ? `${kind.name}: ${draft.note}` : kind.name,
    method: operation.method,
    target: query ? `${path}?${query}` : path,
    headers,
    body: takesBody(operation) ? body : null,
    streamed: Boolean(draft.streamed && body && takesBody(operation)),
    credentials: draft.credentials ?? 'owner',
  };
}

type Plan = Array<{ operation: FuzzOperation; kind: VariantKind }>;
const plans = new WeakMap<readonly FuzzOperation[], Plan>();

/** Every kind that applies to each operation, the operations taking turns. */
function planOf(operations: readonly FuzzOperation[]): Plan {
  const known = plans.get(operations);
  if (known) return known;
  const kindsByOperation = operations.map((operation) => ({
    operation,
    kinds: allKinds.filter((kind) => kind.applies(operation)),
  }));
  const plan: Plan = [];
  const rounds = Math.max(...kindsByOperation.map(({ kinds }) => kinds.length));
  for (let round = 0; round < rounds; round++)
    for (const { operation, kinds } of kindsByOperation) {
      const kind = kinds[round];
      if (kind) plan.push({ operation, kind });
    }
  plans.set(operations, plan);
  return plan;
}

/**
 * Request `index` of a run over `operations` with `seed`: the first requests go through every kind that
 * applies to every operation (the operations taking turns); later ones pick operation and kind at random.
 */
export function malformedRequest(options: {
  operations: readonly FuzzOperation[];
  seed: number;
  index: number;
  bodyLimitBytes: number;
  knownIds?: readonly string[];
}): FuzzRequest {
  const { operations, seed, index } = options;
  const plan = planOf(operations);
  const random = seededRandom(requestSeed(seed, index));
  const planned = plan[index];
  const operation = planned?.operation ?? random.pick(operations);
  const kind = planned?.kind ?? random.pick(allKinds.filter((candidate) => candidate.applies(operation)));
  return build(operation, kind, index, random, options.bodyLimitBytes, options.knownIds ?? []);
}

/** How many requests it takes for every operation to get every kind that applies to it. */
export function exhaustiveRequestCount(operations: readonly FuzzOperation[]): number {
  return planOf(operations).length;
}
