/**
 * `bun run fuzz [--requests 10000] [--seed N] [--concurrency 12] [--only 17,4711] [--max-healthz-ms 100]`:
 * the fuzz suite at full size against `bun server/main.ts` in its own process (development mode; embedded
 * database in a fresh folder, or a fresh database on DATABASE_URL; REDIS_URL when set), or with
 * `--in-process` against the test harness's app as the CI test does. Exits non-zero on any failure, or
 * when a /healthz probe took longer than the bound. A failure prints the command that replays it.
 */
import { parseArgs } from 'node:util';
import { describeFailure, runFuzz, summarize } from '../server/security/fuzz.ts';
import {
  FUZZ_BODY_LIMIT_BYTES,
  startFuzzServerProcess,
  startFuzzTarget,
} from '../server/security/fuzz-target.ts';
import { exhaustiveRequestCount } from '../server/security/malformed-requests.ts';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '10000' },
    seed: { type: 'string' },
    concurrency: { type: 'string', default: '12' },
    only: { type: 'string' },
    'max-healthz-ms': { type: 'string', default: '100' },
    'in-process': { type: 'boolean', default: false },
  },
});

const seed = values.seed ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
const requests = Number(values.requests);
const concurrency = Number(values.concurrency);
const maxHealthzMs = Number(values['max-healthz-ms']);
const only = values.only?.split(',').map(Number);
for (const [name, value] of Object.entries({ seed, requests, concurrency, maxHealthzMs }))
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a non-negative number`);

const target = values['in-process'] ? await startFuzzTarget() : await startFuzzServerProcess();
let exitCode = 1;
try {
  console.log(
    `fuzz ${values['in-process'] ? 'in process' : `of ${target.baseUrl}`}: seed ${seed}, ${only ? `only ${only.join(',')}` : `${requests} requests`}, ${concurrency} in flight, ` +
      `${target.operations.length} operations (every kind of each: ${exhaustiveRequestCount(target.operations)} requests)`,
  );
  const report = await runFuzz({
    baseUrl: target.baseUrl,
    operations: target.operations,
    credentials: target.credentials,
    seed,
    requests,
    concurrency,
    only,
    bodyLimitBytes: FUZZ_BODY_LIMIT_BYTES,
    knownIds: target.knownIds,
  });
  for (const failure of report.failures.slice(0, 20)) console.log(describeFailure(failure, seed));
  console.log(summarize(report));
  const slowProbe = report.probes.maxLatencyMs > maxHealthzMs;
  const unhealthy = report.probes.healthy !== report.probes.sent;
  console.log(
    `  /healthz max latency ${report.probes.maxLatencyMs.toFixed(1)} ms, bound ${maxHealthzMs} ms: ${slowProbe ? 'OVER' : 'ok'}`,
  );
  exitCode = report.failures.length > 0 || slowProbe || unhealthy ? 1 : 0;
} finally {
  await target.dispose();
}
process.exit(exitCode);
