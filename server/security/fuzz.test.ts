import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { describeFailure, runFuzz, summarize } from './fuzz.ts';
import { FUZZ_BODY_LIMIT_BYTES, type FuzzTarget, startFuzzTarget } from './fuzz-target.ts';

/**
 * The CI-sized fuzz run (`bun run fuzz` sends more): every operation of the OpenAPI document gets at
 * least 30 kinds of malformed request over real HTTP; none may answer 5xx, every 4xx must be the
 * catalog's problem+json, and /healthz must keep answering throughout. A fixed seed keeps CI stable;
 * a failure prints the request and the command that replays it.
 */
const SEED = 20_261_202;
const REQUESTS = 3000;

let target: FuzzTarget;

beforeAll(async () => {
  target = await startFuzzTarget();
});
afterAll(() => target.dispose());

describe('fuzzing every operation of the OpenAPI document', () => {
  test(`${REQUESTS} malformed requests: no 5xx, problem+json for every 4xx, /healthz answering`, async () => {
    const report = await runFuzz({
      baseUrl: target.baseUrl,
      operations: target.operations,
      credentials: target.credentials,
      seed: SEED,
      requests: REQUESTS,
      concurrency: 12,
      bodyLimitBytes: FUZZ_BODY_LIMIT_BYTES,
      knownIds: target.knownIds,
    });
    console.log(summarize(report));

    expect(target.operations.length).toBe(target.documented);
    expect(target.operations.length).toBeGreaterThan(50);
    // Body variants are derived from the document's request bodies: each must carry its schema.
    expect(target.operations.filter((operation) => operation.hasRequestBody && !operation.body)).toEqual([]);
    expect(report.requests).toBeGreaterThanOrEqual(3000);
    expect(report.kindsPerOperation.size).toBe(target.operations.length);
    for (const [operation, kinds] of report.kindsPerOperation)
      expect({ operation, atLeast30: kinds >= 30 }).toEqual({ operation, atLeast30: true });
    expect(
      report.failures.slice(0, 20).map((failure) => describeFailure(failure, SEED, '--in-process')),
    ).toEqual([]);
    // Every probe answered 200; its latency is printed, not asserted, on a shared machine.
    expect(report.probes.sent).toBeGreaterThan(10);
    expect(report.probes.healthy).toBe(report.probes.sent);
  }, 240_000);
});
