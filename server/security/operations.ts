import type { JsonSchema } from './json-schema.ts';

/**
 * The operations of the API's own OpenAPI document, as the derived suites (auth, IDOR, fuzz) read them,
 * so a new route is covered the day it is added without anyone editing a suite.
 */

export interface DocumentedParameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  schema: JsonSchema;
}

export interface DocumentedOperation {
  /** `METHOD /path/{param}`, as the document names it. */
  key: string;
  method: string;
  path: string;
  /** The operation declares a security requirement (a bearer token or API key). */
  secured: boolean;
  /** The permission it requires (`x-permission`), if any. */
  permission: string | null;
  /** For signed-in people only, never an API key (`x-session-only`). */
  sessionOnly: boolean;
  /** The statuses the document says it answers with. */
  responses: string[];
  parameters: DocumentedParameter[];
  /** The JSON body's schema; null when the operation takes no JSON body. */
  body: JsonSchema | null;
  /** The document declares a request body (with or without a JSON schema). */
  hasRequestBody: boolean;
}

interface OpenApiOperation {
  security?: unknown[];
  'x-permission'?: string;
  'x-session-only'?: boolean;
  responses?: Record<string, unknown>;
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
export function operationsOf(document: OpenApiDocument): DocumentedOperation[] {
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
          permission: operation['x-permission'] ?? null,
          sessionOnly: operation['x-session-only'] === true,
          responses: Object.keys(operation.responses ?? {}),
          parameters: (operation.parameters ?? [])
            .filter((parameter) => ['path', 'query', 'header'].includes(parameter.in))
            .map((parameter) => ({
              name: parameter.name,
              in: parameter.in as DocumentedParameter['in'],
              required: parameter.required ?? parameter.in === 'path',
              schema: dereference(parameter.schema ?? {}, document),
            })),
          body,
          hasRequestBody: operation.requestBody !== undefined,
        };
      }),
  );
}
