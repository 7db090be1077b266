/**
 * A closed-loop HTTP load generator: `connections` concurrent keep-alive loops for `seconds`, after a
 * warm-up. Prints one JSON line: requests, errors, req/s, p50/p99 latency in ms.
 * Usage: bun ops/bench/load.ts <url[,url...]> <connections> <seconds> [token[,token...]]
 * With several URLs (one per node) or tokens (one per tenant), connection i uses URL i % URLs and
 * token i % tokens. LOAD_BODY (JSON) makes every request a POST with that body and a fresh
 * Idempotency-Key, expecting 201; otherwise requests are GETs expecting 200.
 */
const [urlList, connectionsArg = '64', secondsArg = '10', tokenList = ''] = Bun.argv.slice(2);
if (!urlList) throw new Error('usage: load.ts <url[,url...]> <connections> <seconds> [tokens]');
const urls = urlList.split(',');
const tokens = tokenList ? tokenList.split(',') : [];
const connections = Number(connectionsArg);
const seconds = Number(secondsArg);
const body = process.env.LOAD_BODY;
const expected = body ? 201 : 200;
let counter = 0;

async function run(durationMs: number, record: boolean) {
  const latencies: number[] = [];
  let errors = 0;
  const until = performance.now() + durationMs;
  await Promise.all(
    Array.from({ length: connections }, async (_, index) => {
      const url = urls[index % urls.length] as string;
      const token = tokens.length > 0 ? tokens[index % tokens.length] : undefined;
      const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
      if (body) headers['content-type'] = 'application/json';
      while (performance.now() < until) {
        const started = performance.now();
        try {
          const response = body
            ? await fetch(url, {
                method: 'POST',
                headers: { ...headers, 'idempotency-key': `load-${process.pid}-${counter++}` },
                body,
              })
            : await fetch(url, { headers });
          await response.arrayBuffer();
          if (response.status !== expected) errors++;
        } catch {
          errors++;
        }
        if (record) latencies.push(performance.now() - started);
      }
    }),
  );
  return { latencies, errors };
}

await run(2000, false);
const started = performance.now();
const { latencies, errors } = await run(seconds * 1000, true);
const elapsed = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const quantile = (q: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
console.log(
  JSON.stringify({
    requests: latencies.length,
    errors,
    rps: latencies.length / elapsed,
    p50: quantile(0.5),
    p99: quantile(0.99),
  }),
);

export {};
