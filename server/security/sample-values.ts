import type { JsonSchema } from './json-schema.ts';
import type { SeededRandom } from './seeded-random.ts';

/**
 * Values built from a JSON Schema: a plausible valid one (so that a malformed variant differs from a
 * request that would pass in exactly one place) and values of the wrong type.
 */

const JSON_TYPES = ['string', 'number', 'integer', 'boolean', 'null', 'array', 'object'] as const;

/** The first alternative that is not `null`: unions such as `string | null` sample as the string. */
function preferred(options: JsonSchema[]): JsonSchema {
  return options.find((option) => option.type !== 'null') ?? options[0] ?? {};
}

export function uuidFrom(random: SeededRandom): string {
  const hex = Array.from({ length: 32 }, () => random.int(0, 15).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20)}`;
}

function sampleString(schema: JsonSchema, random: SeededRandom): string {
  const example = schema.examples?.find((value) => typeof value === 'string');
  if (typeof example === 'string') return example;
  switch (schema.format) {
    case 'uuid':
      return uuidFrom(random);
    case 'email':
      return `fuzz-${random.int(0, 1e9)}@example.test`;
    case 'date-time':
      return '2030-01-01T00:00:00.000Z';
    case 'date':
      return '2030-01-01';
    case 'uri':
    case 'url':
      return 'https://example.test/fuzz';
  }
  if (typeof schema.default === 'string') return schema.default;
  const min = schema.minLength ?? 1;
  const max = schema.maxLength ?? 64;
  const candidates = ['fuzz', 'fuzz-value-1', 'a', 'pro', '#112233', '/', 'x'.repeat(Math.max(min, 1))];
  const pattern = schema.pattern ? safeRegExp(schema.pattern) : null;
  const fits = candidates.find(
    (candidate) =>
      candidate.length >= min && candidate.length <= max && (!pattern || pattern.test(candidate)),
  );
  return fits ?? 'x'.repeat(Math.min(Math.max(min, 1), max));
}

function safeRegExp(pattern: string): RegExp | null {
  try {
    return new RegExp(pattern, 'u');
  } catch {
    return null;
  }
}

function sampleNumber(schema: JsonSchema): number {
  const min = schema.minimum ?? 1;
  const max = schema.maximum ?? Math.max(min, 100);
  return Math.min(Math.max(1, min), max);
}

/** A value the schema accepts as far as this sampler can tell (patterns only from a few candidates). */
export function sampleOf(
  schema: JsonSchema,
  random: SeededRandom,
  depth = 0,
  options: { everyField?: boolean } = {},
): unknown {
  if ('const' in schema) return schema.const;
  if (schema.enum?.length) return schema.enum[0];
  if (schema.anyOf?.length) return sampleOf(preferred(schema.anyOf), random, depth, options);
  if (schema.oneOf?.length) return sampleOf(preferred(schema.oneOf), random, depth, options);
  if (schema.allOf?.length) return sampleOf(Object.assign({}, ...schema.allOf), random, depth, options);
  const type = Array.isArray(schema.type)
    ? (schema.type.find((name) => name !== 'null') ?? 'null')
    : schema.type;
  switch (type) {
    case 'string':
      return sampleString(schema, random);
    case 'integer':
    case 'number':
      return sampleNumber(schema);
    case 'boolean':
      return true;
    case 'null':
      return null;
    case 'array': {
      if (!schema.items || depth > 6) return [];
      return Array.from({ length: Math.max(schema.minItems ?? 1, 1) }, () =>
        sampleOf(schema.items ?? {}, random, depth + 1, options),
      );
    }
    case 'object': {
      const properties = schema.properties ?? {};
      const names = new Set(options.everyField ? Object.keys(properties) : (schema.required ?? []));
      // A PATCH body with `minProperties` and nothing required gets its first property.
      const first = Object.keys(properties)[0];
      if (names.size < (schema.minProperties ?? 0) && first) names.add(first);
      const value: Record<string, unknown> = {};
      for (const name of names) {
        const property = properties[name];
        if (property && depth <= 6) value[name] = sampleOf(property, random, depth + 1, options);
      }
      return value;
    }
    default:
      return 'fuzz';
  }
}

/** The JSON types a schema admits (all of them when it does not say). */
export function typesOf(schema: JsonSchema): Set<string> {
  const types = new Set<string>();
  const add = (inner: JsonSchema) => {
    for (const type of typesOf(inner)) types.add(type);
  };
  if ('const' in schema) types.add(schema.const === null ? 'null' : typeof schema.const);
  for (const option of [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])]) add(option);
  if (Array.isArray(schema.type)) for (const type of schema.type) types.add(type);
  else if (schema.type) types.add(schema.type);
  if (types.has('integer')) types.add('number');
  if (types.size === 0) for (const type of JSON_TYPES) types.add(type);
  return types;
}

const WRONG_TYPED: ReadonlyArray<[string, unknown]> = [
  ['number', 42],
  ['number', -1.5],
  ['string', 'fuzz'],
  ['string', '42'],
  ['boolean', true],
  ['boolean', false],
  ['null', null],
  ['array', []],
  ['array', ['fuzz', 1]],
  ['object', {}],
  ['object', { fuzz: 1 }],
];

/** A value of a JSON type the schema does not admit; undefined when it admits every type. */
export function wrongTypeFor(schema: JsonSchema, random: SeededRandom): unknown {
  const allowed = typesOf(schema);
  const candidates = WRONG_TYPED.filter(([type]) => !allowed.has(type));
  return candidates.length ? random.pick(candidates)[1] : undefined;
}

/** One field of a body, by its path from the root, with its schema and whether its parent requires it. */
export interface BodyField {
  path: string[];
  schema: JsonSchema;
  required: boolean;
}

/** The object fields of a body schema, nested objects included (up to a few levels). */
export function fieldsOf(schema: JsonSchema, path: string[] = [], depth = 0): BodyField[] {
  const object = schema.anyOf ? preferred(schema.anyOf) : schema;
  if (!object.properties || depth > 3) return [];
  const required = new Set(object.required ?? []);
  return Object.entries(object.properties).flatMap(([name, inner]) => [
    { path: [...path, name], schema: inner, required: required.has(name) },
    ...fieldsOf(inner, [...path, name], depth + 1),
  ]);
}
