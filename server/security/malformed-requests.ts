import { utf8 } from './json-edits.ts';
import type { JsonSchema } from './json-schema.ts';
import { bodyKinds, everyOperation } from './kinds-any-route.ts';
import { fieldKinds, headerKinds, pathKinds, queryKinds } from './kinds-from-schemas.ts';
import type { DocumentedOperation, DocumentedParameter } from './operations.ts';
import { fieldsOf, sampleOf, uuidFrom } from './sample-values.ts';
import { requestSeed, type SeededRandom, seededRandom } from './seeded-random.ts';
import { type FuzzRequest, hasFields, parametersIn, takesBody, type VariantKind } from './variant-kind.ts';

/**
 * Malformed requests derived from an operation's schemas: its body fields, path, query and declared
 * headers, plus what any route must survive (bad credentials, encodings, content types, nesting, size).
 * Each variant differs from a plausible valid request (owner token, sampled values) in one place.
 */

export type { Credentials, FuzzRequest } from './variant-kind.ts';

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

export function variantKindsOf(operation: DocumentedOperation): string[] {
  return allKinds.filter((kind) => kind.applies(operation)).map((kind) => kind.name);
}

function headerSample(parameter: DocumentedParameter, random: SeededRandom): string {
  // Unique per request, so an Idempotency-Key never replays another variant's answer.
  if (parameter.name.includes('idempotency')) return `fuzz-${uuidFrom(random)}`;
  return String(sampleOf(parameter.schema, random));
}

function build(
  operation: DocumentedOperation,
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
    method: draft.method ?? operation.method,
    target: query ? `${path}?${query}` : path,
    headers,
    body: takesBody(operation) ? body : null,
    streamed: Boolean(draft.streamed && body && takesBody(operation)),
    credentials: draft.credentials ?? 'owner',
  };
}

type Plan = Array<{ operation: DocumentedOperation; kind: VariantKind }>;
const plans = new WeakMap<readonly DocumentedOperation[], Plan>();

/** Every kind that applies to each operation, the operations taking turns. */
function planOf(operations: readonly DocumentedOperation[]): Plan {
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
  operations: readonly DocumentedOperation[];
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
export function exhaustiveRequestCount(operations: readonly DocumentedOperation[]): number {
  return planOf(operations).length;
}
