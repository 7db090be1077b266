import type { JsonSchema } from './json-schema.ts';

/**
 * The operations a fuzz run covers, read from the API's own OpenAPI document, so a new route is fuzzed
 * the day it is added without anyone editing the suite.
 */

export interface FuzzParameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  schema: JsonSchema;
}

export interface FuzzOperation {
  /** `METHOD /path/{param}`, as the document names it. */
  key: string;
  method: string;
  path: string;
  /** The operation declares a security requirement (a bearer token or API key). */
  secured: boolean;
  parameters: FuzzParameter[];
  /** The JSON body's schema; null when the operation takes no JSON body. */
  body: JsonSchema | null;
  /** The document declares a request body (with or without a JSON schema). */
  hasRequestBody: boolean;
}

interface OpenApiOperation {
  security?: unknown[];
  parameters?: Array<{ name: string; in: string; required?: boolean; schema?: JsonSchema }>;
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

const METHODS = new Set(['get', 'post', 'put', 'patch', 'delete']);

/** Replaces `$ref`s to `#/components/schemas/…` by the schema they name, to any depth. */
function dereference(schema: JsonSchema, document: OpenApiDocument, seen = new Set<string>()): JsonSchema {
  if (schema.$ref) {
    const name = schema.$ref.replace('#/components/schemas/', '');
    const target = document.components?.schemas?.[name];
    if (!target || seen.has(name)) return {};
    return dereference(target, document, new Set([...seen, name]));
  }
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(walk);
    if (value && typeof value === 'object') {
      const object = value as JsonSchema;
      if (object.$ref) return dereference(object, document, seen);
      return Object.fromEntries(Object.entries(object).map(([key, inner]) => [key, walk(inner)]));
    }
    return value;
  };
  return walk(schema) as JsonSchema;
}

/** Every operation of the document, with its parameters' and JSON body's schemas. */
export function operationsOf(document: OpenApiDocument): FuzzOperation[] {
  return Object.entries(document.paths).flatMap(([path, operations]) =>
    Object.entries(operations)
      .filter(([method]) => METHODS.has(method))
      .map(([method, operation]) => {
        const key = `${method.toUpperCase()} ${path}`;
        const declared = operation.requestBody?.content?.['application/json']?.schema;
        const body = declared ? dereference(declared, document) : null;
        return {
          key,
          method: method.toUpperCase(),
          path,
          secured: (operation.security ?? []).length > 0,
          parameters: (operation.parameters ?? [])
            .filter((parameter) => ['path', 'query', 'header'].includes(parameter.in))
            .map((parameter) => ({
              name: parameter.name,
              in: parameter.in as FuzzParameter['in'],
              required: parameter.required ?? parameter.in === 'path',
              schema: dereference(parameter.schema ?? {}, document),
            })),
          body,
          hasRequestBody: operation.requestBody !== undefined,
        };
      }),
  );
}
