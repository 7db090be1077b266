/**
 * A valid instance of a JSON Schema (the dialect the OpenAPI document and TypeBox speak), so that a
 * request generated from the document gets past validation and reaches the route's own checks.
 */
import type { JsonSchema } from './json-schema.ts';

export interface InstanceOptions {
  /** Resolves `#/components/schemas/...` against the document the schema came from. */
  resolveRef?: (ref: string) => JsonSchema;
  /**
   * The value to use at a JSON pointer (`/roleIds/0`), or undefined to generate one; an id with
   * `format: uuid` that is not given is fresh and refers to nothing.
   */
  valueAt?: (at: string) => unknown;
}

/** An error naming where the schema asked for something this generator cannot make yet. */
export class NoInstanceError extends Error {
  override name = 'NoInstanceError';
}

/**
 * Every declared property is filled in, optional ones too: a route may need one of its optional fields
 * (PATCH bodies answer 422 to `{}`), and a smallest value of each keeps the change harmless. A union
 * that admits `null` takes `null`, so an optional reference (a parent, a plan) points at nothing
 * instead of at a random id that would fail for its own reason first.
 */
export function schemaInstance(schema: JsonSchema, options: InstanceOptions = {}, at = ''): unknown {
  const given = at ? options.valueAt?.(at) : undefined;
  if (given !== undefined) return given;
  const resolved = resolve(schema, options, at);
  if ('const' in resolved) return resolved.const;
  if (resolved.enum) return resolved.enum[0];
  const branches = resolved.anyOf ?? resolved.oneOf;
  if (branches) return schemaInstance(chooseBranch(branches, options, at), options, at);
  if (resolved.allOf) return schemaInstance(mergeAll(resolved.allOf, options, at), options, at);
  const types = Array.isArray(resolved.type) ? resolved.type : resolved.type ? [resolved.type] : [];
  if (types.includes('null')) return null;
  const type = types[0] ?? (resolved.properties ? 'object' : undefined);
  switch (type) {
    case 'object':
      return objectInstance(resolved, options, at);
    case 'array': {
      const length = Math.max(resolved.minItems ?? 0, options.valueAt?.(`${at}/0`) === undefined ? 0 : 1);
      return Array.from({ length }, (_, index) =>
        schemaInstance(resolved.items ?? {}, options, `${at}/${index}`),
      );
    }
    case 'string':
      return stringInstance(resolved, at);
    case 'number':
    case 'integer':
      return numberInstance(resolved, at);
    case 'boolean':
      return false;
    default:
      throw new NoInstanceError(`no instance for the schema at "${at || '/'}": ${JSON.stringify(resolved)}`);
  }
}

function resolve(schema: JsonSchema, options: InstanceOptions, at: string): JsonSchema {
  if (!schema.$ref) return schema;
  if (!options.resolveRef)
    throw new NoInstanceError(`"${at || '/'}" has $ref ${schema.$ref} and no resolver`);
  return resolve(options.resolveRef(schema.$ref), options, at);
}

function chooseBranch(branches: JsonSchema[], options: InstanceOptions, at: string): JsonSchema {
  const resolved = branches.map((branch) => resolve(branch, options, at));
  const isNull = (branch: JsonSchema) =>
    branch.type === 'null' || (Array.isArray(branch.type) && branch.type.includes('null'));
  // Elysia documents a number it would also accept as a query string as `{type: string, format:
  // integer}`; in a JSON body that branch is a string the route refuses.
  const isCoercedString = (branch: JsonSchema) =>
    branch.type === 'string' && ['integer', 'numeric', 'number', 'boolean'].includes(branch.format ?? '');
  const chosen = resolved.find(isNull) ?? resolved.find((branch) => !isCoercedString(branch)) ?? resolved[0];
  if (!chosen) throw new NoInstanceError(`"${at || '/'}" is a union of nothing`);
  return chosen;
}

function mergeAll(parts: JsonSchema[], options: InstanceOptions, at: string): JsonSchema {
  const merged: JsonSchema = {};
  for (const part of parts.map((item) => resolve(item, options, at))) {
    Object.assign(merged, part, {
      properties: { ...merged.properties, ...part.properties },
      required: [...(merged.required ?? []), ...(part.required ?? [])],
    });
  }
  delete merged.allOf;
  return merged;
}

function objectInstance(schema: JsonSchema, options: InstanceOptions, at: string): Record<string, unknown> {
  const value: Record<string, unknown> = {};
  for (const [name, property] of Object.entries(schema.properties ?? {}))
    value[name] = schemaInstance(property, options, `${at}/${name}`);
  if (Object.keys(value).length < (schema.minProperties ?? 0))
    throw new NoInstanceError(`"${at || '/'}" needs ${schema.minProperties} properties and declares fewer`);
  return value;
}

function stringInstance(schema: JsonSchema, at: string): string {
  const length = Math.max(schema.minLength ?? 0, 1);
  const value = ((): string => {
    switch (schema.format) {
      case 'uuid':
        return Bun.randomUUIDv7();
      case 'email':
        return `schema-instance-${crypto.randomUUID().slice(0, 8)}@example.test`;
      case 'date-time':
        // In the future: expiry fields refuse a past instant.
        return new Date(Date.now() + 86_400_000).toISOString();
      case 'date':
        return new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
      case 'uri':
      case 'url':
        return 'https://example.test/';
      default:
        return 'x'.repeat(length);
    }
  })();
  if (schema.maxLength !== undefined && value.length > schema.maxLength)
    throw new NoInstanceError(`"${at || '/'}" allows ${schema.maxLength} characters, fewer than "${value}"`);
  if (schema.pattern && !new RegExp(schema.pattern, 'u').test(value))
    throw new NoInstanceError(`"${at || '/'}" has pattern ${schema.pattern} that "${value}" does not match`);
  return value;
}

/** 1 where the range allows it (a count, an amount), else the smallest value allowed. */
function numberInstance(schema: JsonSchema, at: string): number {
  const step = schema.multipleOf ?? 1;
  const lowest =
    schema.exclusiveMinimum !== undefined
      ? (Math.floor(schema.exclusiveMinimum / step) + 1) * step
      : Math.ceil((schema.minimum ?? 1) / step) * step;
  const value = lowest <= 1 && (schema.maximum ?? 1) >= 1 && 1 % step === 0 ? 1 : lowest;
  if (schema.maximum !== undefined && value > schema.maximum)
    throw new NoInstanceError(`"${at || '/'}" has no number between its minimum and maximum`);
  return value;
}

/** The JSON pointers of every `format: uuid` in a schema (array items as `/0`): the ids a body can name. */
export function uuidPointers(schema: JsonSchema, options: InstanceOptions = {}, at = ''): string[] {
  const resolved = resolve(schema, options, at);
  if (resolved.format === 'uuid') return [at];
  const branches = [...(resolved.anyOf ?? []), ...(resolved.oneOf ?? []), ...(resolved.allOf ?? [])];
  const found = [
    ...branches.flatMap((branch) => uuidPointers(branch, options, at)),
    ...Object.entries(resolved.properties ?? {}).flatMap(([name, property]) =>
      uuidPointers(property, options, `${at}/${name}`),
    ),
    ...(resolved.items ? uuidPointers(resolved.items, options, `${at}/0`) : []),
  ];
  return [...new Set(found)];
}
