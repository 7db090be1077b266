/**
 * Closed-loop load on `POST /v1/credits/consume`: `connections` loops for `seconds` after a warm-up, each
 * request with a fresh Idempotency-Key; connection i uses token i % tokens (one token per tenant).
 * Prints one JSON line: requests, errors, req/s, p50/p99 in ms.
 * Usage: bun ops/bench/load-consume.ts <url> <connections> <seconds> <token[,token...]>
 */
const [url, connectionsArg = '64', secondsArg = '10', tokenList = ''] = Bun.argv.slice(2);
if (!url || !tokenList) throw new Error('usage: load-consume.ts <url> <connections> <seconds> <tokens>');
const tokens = tokenList.split(',');
const connections = Number(connectionsArg);
const seconds = Number(secondsArg);
const body = JSON.stringify({ amount: 1, reason: 'bench' });
let counter = 0;

async function run(durationMs: number, record: boolean) {
  const latencies: number[] = [];
  let errors = 0;
  const until = performance.now() + durationMs;
  await Promise.all(
    Array.from({ length: connections }, async (_, index) => {
      const headers = {
        authorization: `Bearer ${tokens[index % tokens.length]}`,
        'content-type': 'application/json',
      };
      while (performance.now() < until) {
        const started = performance.now();
        try {
          const response = await fetch(url as string, {
            method: 'POST',
            headers: { ...headers, 'idempotency-key': `bench-${process.pid}-${counter++}` },
            body,
          });
          await response.arrayBuffer();
          if (response.status !== 201) errors++;
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
