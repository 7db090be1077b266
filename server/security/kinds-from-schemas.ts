import { deepArray, deepObject, withField, withRawField } from './json-edits.ts';
import type { JsonSchema } from './json-schema.ts';
import { type BodyField, sampleOf, wrongTypeFor } from './sample-values.ts';
import {
  type Draft,
  hasFields,
  numberField,
  parametersIn,
  pathOf,
  pickField,
  stringField,
  type VariantContext,
  type VariantKind,
} from './variant-kind.ts';

/** Kinds derived from an operation's own schemas: its body fields, path, query and declared headers. */

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

/** Kinds derived from the body schema's fields. */
export const fieldKinds: VariantKind[] = (
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

export const pathKinds: VariantKind[] = PATH_EDGES.map(([label, value]) => ({
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

export const queryKinds: VariantKind[] = [
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

export const headerKinds: VariantKind[] = [
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
