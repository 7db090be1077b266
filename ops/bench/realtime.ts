/**
 * Realtime benchmarks, ratios measured in one run on this machine:
 * 1. broadcast: the server-side cost of sending one event to a room of N WebSocket subscribers, for
 *    Bun's native `server.publish` (the floor), Wrapper's gateway (encode once + native publish) and
 *    stock Socket.IO (`io.to(room).emit`), all to the same N clients in another process;
 * 2. memory: server memory per idle subscriber, native WebSocket vs Wrapper's gateway;
 * 3. latency (needs Postgres and Redis): commit → client at N subscribers and a steady event rate,
 *    on one node and on two nodes (`POST /v1/organizations` → the `organization.created` event).
 * Prints one JSON line per result and a table at the end. Usage: bun ops/bench/realtime.ts
 */
import { Server as StockEngine } from '@socket.io/bun-engine';
import type { Subprocess } from 'bun';
import postgres from 'postgres';
import { Server as StockServer } from 'socket.io';
import { openDatabase } from '../../db/client.ts';
import type { EventEnvelope } from '../../realtime/events.ts';
import { signUp } from '../../server/features/auth/service.ts';
import { testRuntime } from '../../server/testing/harness.ts';
import { type ServerProcess, startServerProcess } from '../../server/testing/server-process.ts';

const subscribers = Number(process.env.BENCH_SUBSCRIBERS ?? 1000);
const rounds = Number(process.env.BENCH_BROADCASTS ?? 200);
const eventsPerSecond = Number(process.env.BENCH_EVENT_RATE ?? 200);
const latencySeconds = Number(process.env.BENCH_LATENCY_SECONDS ?? 10);
const warmUpSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const databaseUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

interface ClientProcess {
  send(line: string): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

function startClients(): ClientProcess {
  const child: Subprocess<'pipe', 'pipe', 'inherit'> = Bun.spawn(
    ['bun', `${import.meta.dir}/realtime-clients.ts`],
    {
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'inherit',
    },
  );
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  async function nextLine(): Promise<string> {
    for (;;) {
      const newline = buffered.indexOf('\n');
      if (newline >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        return line;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error('the client process ended');
      buffered += decoder.decode(value);
    }
  }
  return {
    async send(line) {
      child.stdin.write(`${line}\n`);
      await child.stdin.flush();
      return JSON.parse(await nextLine());
    },
    async stop() {
      child.stdin.write('close\n');
      await child.stdin.flush();
      await child.exited;
    },
  };
}

/** Memory after a full collection, the median of three readings (RSS moves with the allocator). */
async function memory() {
  const readings: Array<{ rss: number; heap: number }> = [];
  for (let index = 0; index < 3; index++) {
    Bun.gc(true);
    await Bun.sleep(150);
    const usage = process.memoryUsage();
    readings.push({ rss: usage.rss, heap: usage.heapUsed });
  }
  readings.sort((a, b) => a.rss - b.rss);
  return readings[1] as { rss: number; heap: number };
}

async function waitForCount(clients: ClientProcess, expected: number, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { received = 0 } = await clients.send('count');
    if (received >= expected) return received;
    if (Date.now() > deadline) throw new Error(`clients received ${received} of ${expected}`);
    await Bun.sleep(50);
  }
}

const results: Array<{ name: string; value: string }> = [];
const report = (name: string, value: string) => {
  results.push({ name, value });
  console.log(JSON.stringify({ [name]: value }));
};

/**
 * Part 1 and 2: the gateway in this process with an in-process bus. The database is Postgres (its own
 * process), so the memory measured here is the gateway's, not an embedded database's growth.
 */
async function broadcastAndMemory() {
  const admin = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  const name = `wrapper_rtmem_${crypto.randomUUID().replaceAll('-', '').slice(0, 10)}`;
  await admin.unsafe(`create database ${name}`);
  const database = await openDatabase({
    url: Object.assign(new URL(databaseUrl), { pathname: `/${name}` }).toString(),
    dataDir: '',
    poolMax: 8,
  });
  // The runtime production builds, with the in-process bus (no REDIS_URL given to it).
  const runtime = await testRuntime(database);
  const { bus, tokens } = runtime;
  const owner = await signUp(
    database,
    {
      email: 'bench@example.test',
      password: 'bench password',
      name: 'Bench',
      organizationName: 'Bench',
    },
    {
      policy: { refreshTtlSeconds: 3600, maxAgeSeconds: 86_400 },
      context: { requestId: null, ip: null, userAgent: 'bench' },
    },
  );
  const token = await tokens.sign({ userId: owner.user.id, tenantId: owner.tenant.id });
  const gatewayUrl = await runtime.start({ hostname: '127.0.0.1', port: 0 });
  const native = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch(request, server) {
      return server.upgrade(request) ? undefined : new Response('upgrade', { status: 400 });
    },
    websocket: {
      open(ws) {
        ws.subscribe('bench');
      },
      message() {},
    },
  });
  const clients = startClients();
  try {
    // Memory per socket is measured on the second half of each kind: the first half pays one-time costs.
    const half = Math.floor(subscribers / 2);
    const nativeUrl = `http://127.0.0.1:${native.port}`;
    await clients.send(`connect native ${nativeUrl} ${half}`);
    const nativeHalf = await memory();
    await clients.send(`connect native ${nativeUrl} ${subscribers - half}`);
    const nativeFull = await memory();
    await clients.send(`connect socketio ${gatewayUrl} ${half} ${token}`);
    const gatewayHalf = await memory();
    await clients.send(`connect socketio ${gatewayUrl} ${subscribers - half} ${token}`);
    const gatewayFull = await memory();
    const perSocket = (from: { rss: number }, to: { rss: number }) =>
      (to.rss - from.rss) / (subscribers - half) / 1024;
    report('idle socket, native WebSocket (KB)', perSocket(nativeHalf, nativeFull).toFixed(1));
    report('idle socket, Wrapper gateway (KB, target ≤ 12)', perSocket(gatewayHalf, gatewayFull).toFixed(1));
    report(
      'idle socket, gateway JS heap part (KB)',
      ((gatewayFull.heap - gatewayHalf.heap) / (subscribers - half) / 1024).toFixed(1),
    );

    const envelope = (seq: number): EventEnvelope => ({
      id: crypto.randomUUID(),
      seq,
      type: 'organization.created',
      version: 1,
      tenantId: owner.tenant.id,
      occurredAt: new Date().toISOString(),
      actor: { type: 'system' },
      data: {
        organization: {
          id: crypto.randomUUID(),
          name: `Broadcast ${seq}`,
          parentId: null,
          createdAt: new Date().toISOString(),
          updatedAt: new Date().toISOString(),
        },
      },
    });
    const frame = `42${JSON.stringify(['event', { ...envelope(0), channel: 'organizations' }])}`;
    let expected = 0;

    const time = async (run: (round: number) => void | Promise<void>) => {
      const samples: number[] = [];
      for (let round = 1; round <= rounds; round++) {
        const started = performance.now();
        await run(round);
        samples.push(performance.now() - started);
        expected += subscribers;
        // Let the clients read, so every round starts with empty socket buffers.
        if (round % 20 === 0) await waitForCount(clients, expected);
      }
      await waitForCount(clients, expected);
      samples.sort((a, b) => a - b);
      return samples[Math.floor(samples.length / 2)] ?? Number.NaN;
    };

    const nativeMs = await time(() => {
      native.publish('bench', frame);
    });
    const gatewayMs = await time((round) => bus.append([envelope(10_000 + round)]));
    // Stock Socket.IO on @socket.io/bun-engine, for reference: its own server and its own clients.
    const stockEngine = new StockEngine({ path: '/socket.io/' });
    const stockIo = new StockServer();
    stockIo.bind(stockEngine as never);
    stockIo.on('connection', (socket) => {
      socket.on('subscribe', (_payload: unknown, ack: (answer: unknown) => void) => {
        socket.join('room');
        ack({ ok: true });
      });
    });
    const stock = Bun.serve({ hostname: '127.0.0.1', port: 0, ...stockEngine.handler() });
    await clients.send(`connect socketio http://127.0.0.1:${stock.port} ${subscribers} ${token}`);
    const stockMs = await time((round) => {
      stockIo.to('room').emit('event', { ...envelope(20_000 + round), channel: 'organizations' });
    });
    stock.stop(true);
    report(`broadcast to ${subscribers}, Bun native publish (ms)`, nativeMs.toFixed(3));
    report(`broadcast to ${subscribers}, Wrapper gateway (ms)`, gatewayMs.toFixed(3));
    report(`broadcast to ${subscribers}, stock Socket.IO emit (ms)`, stockMs.toFixed(3));
    report('gateway ÷ native per-subscriber cost (target ≤ 2)', (gatewayMs / nativeMs).toFixed(2));
    report('stock Socket.IO ÷ native', (stockMs / nativeMs).toFixed(1));
  } finally {
    await clients.stop();
    native.stop(true);
    await runtime.stop({ closeConnections: true });
    await database.close();
    await admin.unsafe(`drop database if exists ${name} with (force)`).catch(() => {});
    await admin.end();
  }
}

/** Part 3: real server processes on Postgres + Redis, events from real commits. */
async function latency(nodeCount: number) {
  const admin = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  const name = `wrapper_rtbench_${crypto.randomUUID().replaceAll('-', '').slice(0, 10)}`;
  await admin.unsafe(`create database ${name}`);
  const url = Object.assign(new URL(databaseUrl), { pathname: `/${name}` }).toString();
  const nodes: ServerProcess[] = [];
  const clients = startClients();
  try {
    const env = {
      DATABASE_URL: url,
      REDIS_URL: redisUrl,
      JWT_SECRET: `realtime-bench-${crypto.randomUUID()}`,
      LOG_LEVEL: 'warn',
      RATE_LIMIT_TENANT_PER_MINUTE: '0',
      RATE_LIMIT_AUTH_PER_MINUTE: '0',
    };
    for (let index = 0; index < nodeCount; index++) nodes.push(await startServerProcess(env));
    const first = nodes[0] as ServerProcess;
    const signup = (await (
      await fetch(`${first.baseUrl}/v1/auth/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          email: 'latency@example.test',
          password: 'bench password',
          name: 'Bench',
          organizationName: 'Latency',
        }),
      })
    ).json()) as { accessToken: string; organization: { id: string } };
    for (const [index, node] of nodes.entries()) {
      const share = Math.floor(subscribers / nodes.length) + (index === 0 ? subscribers % nodes.length : 0);
      await clients.send(`connect socketio ${node.baseUrl} ${share} ${signup.accessToken}`);
    }
    // A steady stream of commits, spread over the nodes: first a warm-up (code compiled, pools and
    // buffers grown on both sides), not measured; then the measured run.
    const stream = async (seconds: number) => {
      const total = eventsPerSecond * seconds;
      const interval = 1000 / eventsPerSecond;
      const started = performance.now();
      const inFlight: Promise<number>[] = [];
      for (let index = 0; index < total; index++) {
        const due = started + index * interval;
        const wait = due - performance.now();
        if (wait > 0) await Bun.sleep(wait);
        const node = nodes[index % nodes.length] as ServerProcess;
        inFlight.push(
          fetch(`${node.baseUrl}/v1/organizations`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${signup.accessToken}` },
            body: JSON.stringify({ name: `t:${Date.now()}`, parentId: signup.organization.id }),
          }).then((response) => response.status),
        );
      }
      const statuses = await Promise.all(inFlight);
      return { total, failed: statuses.filter((status) => status !== 201).length };
    };
    const warmUp = await stream(warmUpSeconds);
    await waitForCount(clients, warmUp.total * subscribers, 120_000);
    await clients.send('latency 0');
    const run = await stream(latencySeconds);
    const failed = warmUp.failed + run.failed;
    await waitForCount(clients, (warmUp.total + run.total) * subscribers, 120_000);
    const measured = await clients.send('latency 0');
    const label = nodeCount === 1 ? 'one node' : `${nodeCount} nodes`;
    report(
      `commit → client, ${subscribers} subscribers, ${eventsPerSecond}/s, ${label}: p50 / p99 ms (target p99 ≤ ${nodeCount === 1 ? 30 : 40})`,
      `${measured.p50} / ${measured.p99}${failed ? ` (${failed} requests failed)` : ''}`,
    );
    report(
      `request → client (the HTTP request included), ${label}: p50 / p99 ms`,
      `${measured.requestP50} / ${measured.requestP99}`,
    );
  } finally {
    await clients.stop().catch(() => {});
    for (const node of nodes) await node.stop();
    await admin.unsafe(`drop database if exists ${name} with (force)`).catch(() => {});
    await admin.end();
  }
}

// BENCH_REALTIME_PARTS=latency (or broadcast) runs one part only.
const parts = (process.env.BENCH_REALTIME_PARTS ?? 'broadcast,latency').split(',');
if (parts.includes('broadcast')) {
  console.log(`Realtime: broadcast and memory, ${subscribers} subscribers, ${rounds} broadcasts each...`);
  await broadcastAndMemory();
}
console.log(
  `Realtime: commit → client latency on Postgres + Redis, ${eventsPerSecond} events/s for ${latencySeconds}s after a ${warmUpSeconds}s warm-up...`,
);
if (parts.includes('latency')) {
  await latency(1);
  await latency(2);
}
console.log('\nrealtime result');
for (const row of results) console.log(`  ${row.name.padEnd(60)} ${row.value}`);
