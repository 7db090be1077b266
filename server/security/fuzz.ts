import { type ProblemCode, problemCatalog } from '../errors.ts';
import { type FuzzRequest, malformedRequest } from './malformed-requests.ts';
import type { DocumentedOperation } from './operations.ts';

/**
 * Sends malformed requests to a listening server over real HTTP (so bad encodings and content types
 * travel as bytes), a bounded number at a time, while a probe keeps asking `/healthz`. An answer fails
 * when it is a 5xx, or a 4xx that is not RFC 9457 problem+json with the catalog's type, title and status.
 */

/** The caller's valid token, and a way to get a new one when a variant (e.g. logout) ended it. */
export interface FuzzCredentials {
  token(): string;
  /** An API key of the owner with every scope. */
  apiKey: string;
  renew(): Promise<void>;
}

export interface FuzzOptions {
  baseUrl: string;
  operations: readonly DocumentedOperation[];
  credentials: FuzzCredentials;
  seed: number;
  /** How many requests to send in all. */
  requests: number;
  /** Requests in flight at once. @default 12 */
  concurrency?: number;
  /** The server's body limit: variants stay under it or go just over. */
  bodyLimitBytes: number;
  /** Ids of things that exist (owner, tenant, organization): some path variants use them. */
  knownIds?: readonly string[];
  /** Send only these request indices (to replay a failure). */
  only?: readonly number[];
  /** Pause between two /healthz probes. @default 20 */
  probePauseMs?: number;
  /** A /healthz probe slower than this is slow: the requests in flight then are counted. @default 100 */
  slowProbeMs?: number;
  /** A request without an answer after this long fails. @default 30000 */
  timeoutMs?: number;
}

export interface FuzzFailure {
  request: FuzzRequest;
  reason: string;
  status?: number;
  answer?: string;
}

export interface FuzzReport {
  seed: number;
  operations: number;
  requests: number;
  failures: FuzzFailure[];
  /** Answers by HTTP status. */
  statuses: Record<number, number>;
  /** Distinct variant kinds each operation was sent. */
  kindsPerOperation: Map<string, number>;
  /** Problems answered without a `detail`, by problem code (RFC 9457 allows it; counted to show where). */
  problemsWithoutDetail: Map<string, number>;
  probes: {
    sent: number;
    healthy: number;
    maxLatencyMs: number;
    p99LatencyMs: number;
    slow: number;
    /** What was in flight during slow probes (operation and kind), most often first. */
    inFlightWhenSlow: Array<[string, number]>;
  };
  /** The slowest answers, slowest first. */
  slowest: Array<{ index: number; operation: string; variant: string; ms: number }>;
  /** Times the owner's session had ended (a logout variant) and was signed in again. */
  renewals: number;
  durationMs: number;
}

const isCode = (code: string): code is ProblemCode => code in problemCatalog;

/** Why a 4xx/5xx answer breaks the contract, or null when it keeps it. */
export function problemShapeError(status: number, headers: Headers, text: string): string | null {
  if (status >= 500) return `answered ${status}`;
  if (status < 400) return null;
  const contentType = headers.get('content-type') ?? '';
  if (!contentType.startsWith('application/problem+json'))
    return `${status} with content-type "${contentType}"`;
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text);
  } catch {
    return `${status} problem+json that is not JSON`;
  }
  const code = typeof body.type === 'string' ? body.type.replace(/^\/problems\//, '') : '';
  if (!isCode(code)) return `problem type ${JSON.stringify(body.type)} is not in the catalog`;
  if (body.status !== status) return `problem status ${JSON.stringify(body.status)} on an HTTP ${status}`;
  if (problemCatalog[code].status !== status) return `problem ${code} answered as ${status}`;
  if (body.title !== problemCatalog[code].title) return `problem title ${JSON.stringify(body.title)}`;
  if (body.detail !== undefined && typeof body.detail !== 'string') return 'problem detail is not a string';
  if (typeof body.requestId !== 'string' || body.requestId === '') return 'problem without requestId';
  // A replayed idempotent answer is the first answer byte for byte, its requestId included.
  const replayed = headers.get('idempotent-replayed') === 'true';
  if (!replayed && headers.get('x-request-id') !== body.requestId)
    return 'X-Request-Id differs from requestId';
  return null;
}

function authorizationOf(request: FuzzRequest, credentials: FuzzCredentials): string | null {
  switch (request.credentials) {
    case 'owner':
      return `Bearer ${credentials.token()}`;
    case 'owner-api-key':
      return `Bearer ${credentials.apiKey}`;
    case 'tampered-owner': {
      const token = credentials.token();
      const last = token.at(-1) === 'A' ? 'B' : 'A';
      return `Bearer ${token.slice(0, -1)}${last}`;
    }
    default:
      return null;
  }
}

/** The bytes in three chunks, so the server reads a chunked body without a Content-Length. */
function streamOf(bytes: Uint8Array<ArrayBuffer>): ReadableStream<Uint8Array> {
  const third = Math.ceil(bytes.byteLength / 3);
  return new ReadableStream({
    start(controller) {
      for (let start = 0; start < bytes.byteLength; start += third)
        controller.enqueue(bytes.slice(start, start + third));
      controller.close();
    },
  });
}

/**
 * What a person needs to read and replay a failure: what was sent (tokens left out), what came back, and
 * the command that sends it again (the same code and document rebuild the same request; ids of the
 * owner's own tenant differ from run to run).
 */
export function describeFailure(failure: FuzzFailure, seed: number, replayFlags = ''): string {
  const { request } = failure;
  const body = request.body
    ? request.body.byteLength > 300
      ? `${request.body.byteLength} bytes starting ${JSON.stringify(new TextDecoder().decode(request.body.slice(0, 120)))}`
      : JSON.stringify(new TextDecoder().decode(request.body))
    : 'none';
  const headers = Object.entries(request.headers)
    .map(
      ([name, value]) => `${name}: ${value.length > 80 ? `${value.slice(0, 80)}… (${value.length})` : value}`,
    )
    .join('; ');
  const target =
    request.target.length > 200
      ? `${request.target.slice(0, 200)}… (${request.target.length})`
      : request.target;
  return [
    `#${request.index} ${request.operation} [${request.variant}] → ${failure.reason}`,
    `  ${request.method} ${target}  credentials: ${request.credentials}${request.streamed ? ', body streamed' : ''}`,
    `  headers: ${headers || 'none'}`,
    `  body: ${body}`,
    `  answer: ${(failure.answer ?? '').slice(0, 300)}`,
    `  replay: bun run fuzz --seed ${seed} --only ${request.index}${replayFlags ? ` ${replayFlags}` : ''}`,
  ].join('\n');
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const { baseUrl, operations, credentials, seed } = options;
  const concurrency = options.concurrency ?? 12;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const indices = options.only ?? Array.from({ length: options.requests }, (_, index) => index);
  const started = performance.now();
  const failures: FuzzFailure[] = [];
  const statuses: Record<number, number> = {};
  const kinds = new Map<string, Set<string>>();
  const problemsWithoutDetail = new Map<string, number>();
  const slowest: FuzzReport['slowest'] = [];
  let renewals = 0;
  let renewing: Promise<void> | null = null;

  // A 401 to the owner's token means either a variant got past (expected) or the session ended (a
  // logout variant): ask once who we are, and sign in again only in the second case.
  async function ensureSession() {
    renewing ??= (async () => {
      const me = await fetch(`${baseUrl}/v1/me`, {
        headers: { authorization: `Bearer ${credentials.token()}` },
      });
      await me.arrayBuffer();
      if (me.status === 401) {
        await credentials.renew();
        renewals++;
      }
    })().finally(() => {
      renewing = null;
    });
    await renewing;
  }

  const inFlight = new Map<number, string>();
  async function send(request: FuzzRequest) {
    if (renewing) await renewing;
    inFlight.set(request.index, `${request.operation} [${request.variant.split(':')[0]}]`);
    const headers = new Headers(request.headers);
    const authorization = authorizationOf(request, credentials);
    if (authorization) headers.set('authorization', authorization);
    let status: number | undefined;
    let text = '';
    const sentAt = performance.now();
    try {
      const response = await fetch(`${baseUrl}${request.target}`, {
        method: request.method,
        headers,
        body: request.streamed && request.body ? streamOf(request.body) : request.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
        // Bun would otherwise decode the answer by Content-Encoding; the fuzzer wants what was sent.
        decompress: false,
      });
      status = response.status;
      text = await response.text();
      statuses[status] = (statuses[status] ?? 0) + 1;
      const broken = problemShapeError(status, response.headers, text);
      if (broken) failures.push({ request, reason: broken, status, answer: text });
      else if (status >= 400 && !text.includes('"detail"')) {
        const type = /"type":"\/problems\/([a-z-]+)"/.exec(text)?.[1] ?? 'unknown';
        problemsWithoutDetail.set(type, (problemsWithoutDetail.get(type) ?? 0) + 1);
      }
    } catch (error) {
      failures.push({
        request,
        reason: `no answer: ${error instanceof Error ? error.message : String(error)}`,
      });
    }
    inFlight.delete(request.index);
    const ms = performance.now() - sentAt;
    if (slowest.length < 5 || ms > (slowest.at(-1)?.ms ?? 0)) {
      slowest.push({ index: request.index, operation: request.operation, variant: request.variant, ms });
      slowest.sort((a, b) => b.ms - a.ms).splice(5);
    }
    const seen = kinds.get(request.operation) ?? new Set<string>();
    seen.add(request.variant.split(':')[0] ?? request.variant);
    kinds.set(request.operation, seen);
    if (status === 401 && request.credentials === 'owner') await ensureSession();
  }

  const slowProbeMs = options.slowProbeMs ?? 100;
  const latencies: number[] = [];
  const inFlightWhenSlow = new Map<string, number>();
  let healthy = 0;
  let running = true;
  const probing = (async () => {
    while (running) {
      const during = new Set(inFlight.values());
      const sentAt = performance.now();
      try {
        const response = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
        await response.arrayBuffer();
        if (response.status === 200) healthy++;
      } catch {
        // Counted as sent and not healthy.
      }
      const latency = performance.now() - sentAt;
      latencies.push(latency);
      if (latency > slowProbeMs) {
        for (const label of new Set([...during, ...inFlight.values()]))
          inFlightWhenSlow.set(label, (inFlightWhenSlow.get(label) ?? 0) + 1);
      }
      await Bun.sleep(options.probePauseMs ?? 20);
    }
  })();

  let next = 0;
  const workers = Array.from({ length: concurrency }, async () => {
    while (next < indices.length) {
      const index = indices[next++] as number;
      await send(
        malformedRequest({
          operations,
          seed,
          index,
          bodyLimitBytes: options.bodyLimitBytes,
          knownIds: options.knownIds,
        }),
      );
    }
  });
  try {
    await Promise.all(workers);
  } finally {
    // Also when the owner could not sign in again: the probe must not outlive the run.
    running = false;
    await probing;
  }

  return {
    seed,
    operations: operations.length,
    requests: indices.length,
    failures,
    statuses,
    kindsPerOperation: new Map([...kinds].map(([operation, seen]) => [operation, seen.size])),
    problemsWithoutDetail,
    probes: {
      sent: latencies.length,
      healthy,
      maxLatencyMs: Math.max(0, ...latencies),
      p99LatencyMs: latencies.sort((a, b) => a - b)[Math.floor(latencies.length * 0.99)] ?? 0,
      slow: latencies.filter((latency) => latency > slowProbeMs).length,
      inFlightWhenSlow: [...inFlightWhenSlow].sort((a, b) => b[1] - a[1]).slice(0, 5),
    },
    slowest,
    renewals,
    durationMs: performance.now() - started,
  };
}

/** The figures a run ends with, one per line. */
export function summarize(report: FuzzReport): string {
  const statuses = Object.entries(report.statuses)
    .map(([status, count]) => `${status}×${count}`)
    .join(' ');
  const fewest = Math.min(...report.kindsPerOperation.values());
  return [
    `fuzz seed ${report.seed}: ${report.kindsPerOperation.size} of ${report.operations} operations covered, ${report.requests} requests sent in ${(report.durationMs / 1000).toFixed(1)} s`,
    `  failures: ${report.failures.length}`,
    `  statuses: ${statuses}`,
    `  variant kinds per operation: at least ${fewest}`,
    `  /healthz probes: ${report.probes.healthy}/${report.probes.sent} healthy, max latency ${report.probes.maxLatencyMs.toFixed(1)} ms, p99 ${report.probes.p99LatencyMs.toFixed(1)} ms, ${report.probes.slow} slow`,
    ...report.probes.inFlightWhenSlow.map(
      ([label, count]) => `  in flight during ${count} slow probes: ${label}`,
    ),
    `  problems without a detail: ${[...report.problemsWithoutDetail].map(([code, count]) => `${code}×${count}`).join(' ') || 'none'}`,
    `  owner session renewed ${report.renewals} times (logout variants)`,
    ...report.slowest.map(
      (slow) =>
        `  slow: ${slow.ms.toFixed(0)} ms #${slow.index} ${slow.operation} [${slow.variant.slice(0, 60)}]`,
    ),
  ].join('\n');
}
