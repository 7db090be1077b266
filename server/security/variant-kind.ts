import type { DocumentedOperation, DocumentedParameter } from './operations.ts';
import type { BodyField } from './sample-values.ts';
import type { SeededRandom } from './seeded-random.ts';

/** The shape of one kind of malformed request, and what kinds share to build theirs. */

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

export interface Draft {
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
  /** Another method than the operation's, on its path. */
  method?: string;
}

export interface VariantContext {
  operation: DocumentedOperation;
  random: SeededRandom;
  bodyLimitBytes: number;
  /** The sampled valid body (undefined when the operation takes none). */
  base: unknown;
  fields: BodyField[];
  /** Ids of things that exist (the owner, their tenant and organization), for path values. */
  knownIds: readonly string[];
}

export interface VariantKind {
  name: string;
  applies(operation: DocumentedOperation): boolean;
  draft(context: VariantContext): Draft;
}

export const parametersIn = (operation: DocumentedOperation, where: DocumentedParameter['in']) =>
  operation.parameters.filter((parameter) => parameter.in === where);
export const takesBody = (operation: DocumentedOperation) => operation.method !== 'GET';
export const hasFields = (operation: DocumentedOperation) => takesBody(operation) && operation.body !== null;

export function pickField(context: VariantContext, filter: (field: BodyField) => boolean = () => true) {
  const fields = context.fields.filter(filter);
  return fields.length ? context.random.pick(fields) : null;
}

export const stringField = (field: BodyField) =>
  field.schema.type === 'string' || (field.schema.anyOf ?? []).some((option) => option.type === 'string');
export const numberField = (field: BodyField) =>
  ['number', 'integer'].includes(String(field.schema.type)) ||
  (field.schema.anyOf ?? []).some((option) => ['number', 'integer'].includes(String(option.type)));

/** Field path of the chosen field, or a new top-level field when the body has none. */
export const pathOf = (field: BodyField | null) => field?.path ?? ['fuzz'];
