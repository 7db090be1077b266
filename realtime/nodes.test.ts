import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import postgres from 'postgres';
import { testConfig } from '../server/testing/harness.ts';
import { type ServerProcess, startServerProcess } from '../server/testing/server-process.ts';
import { connectRealtime, type RealtimeEvent } from './client.ts';

// Two real server processes sharing Postgres and Redis, as in production: what a request on one node
// causes reaches a socket on the other, and when a node dies its clients resume on the other node by
// seq, with no gap. A small TCP balancer stands in front of them, as a load balancer would.

const enabled = Boolean(testConfig.DATABASE_URL && testConfig.REDIS_URL);

interface Balancer {
  url: string;
  close(): void;
}

/** Spreads TCP connections over live backends, round-robin; a dead backend is skipped. */
function startBalancer(backends: () => string[]): Balancer {
  let next = 0;
  type Pipe = { upstream?: import('bun').Socket<undefined>; pending: Uint8Array[] };
  const server = Bun.listen<Pipe>({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      async open(client) {
        client.data = { pending: [] };
        const live = backends();
        for (let attempt = 0; attempt < live.length; attempt++) {
          const target = new URL(live[next++ % live.length] as string);
          try {
            const upstream = await Bun.connect({
              hostname: target.hostname,
              port: Number(target.port),
              socket: {
                data(_socket, chunk) {
                  client.write(chunk);
                },
                close() {
                  client.end();
                },
                error() {
                  client.end();
                },
              },
            });
            client.data.upstream = upstream;
            for (const chunk of client.data.pending) upstream.write(chunk);
            client.data.pending = [];
            return;
          } catch {
            // That node is down: try the next one.
          }
        }
        client.end();
      },
      data(client, chunk) {
        if (client.data.upstream) client.data.upstream.write(chunk);
        else client.data.pending.push(new Uint8Array(chunk));
      },
      close(client) {
        client.data.upstream?.end();
      },
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, close: () => server.stop(true) };
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return;
    await Bun.sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.skipIf(!enabled)('many nodes', () => {
  const name = `wrapper_nodes_${crypto.randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const admin = enabled ? postgres(testConfig.DATABASE_URL as string, { max: 1, onnotice: () => {} }) : null;
  const nodes: ServerProcess[] = [];
  const alive = new Set<string>();
  let env: Record<string, string>;

  beforeAll(async () => {
    await admin?.unsafe(`create database ${name}`);
    const url = new URL(testConfig.DATABASE_URL as string);
    url.pathname = `/${name}`;
    env = {
      DATABASE_URL: url.toString(),
      REDIS_URL: testConfig.REDIS_URL as string,
      JWT_SECRET: `nodes-test-secret-${crypto.randomUUID()}`,
      RATE_LIMIT_AUTH_PER_MINUTE: '0',
    };
    for (let index = 0; index < 2; index++) {
      const node = await startServerProcess(env);
      nodes.push(node);
      alive.add(node.baseUrl);
    }
  }, 60_000);

  afterAll(async () => {
    for (const node of nodes) await node.stop();
    await admin?.unsafe(`drop database if exists ${name} with (force)`);
    await admin?.end();
  });

  async function signUp(baseUrl: string) {
    const response = await fetch(`${baseUrl}/v1/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        email: `nodes-${crypto.randomUUID().slice(0, 8)}@example.test`,
        password: 'correct horse battery',
        name: 'Node Tester',
        organizationName: 'Nodes',
      }),
    });
    expect(response.status).toBe(201);
    return (await response.json()) as { accessToken: string; organization: { id: string } };
  }

  const createOrg = (baseUrl: string, token: string, parentId: string, orgName: string) =>
    fetch(`${baseUrl}/v1/organizations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ name: orgName, parentId }),
    });

  test('a socket on node B receives what a request on node A caused', async () => {
    const [a, b] = nodes as [ServerProcess, ServerProcess];
    const owner = await signUp(a.baseUrl);
    const got: RealtimeEvent[] = [];
    const client = connectRealtime({ url: b.baseUrl, token: owner.accessToken });
    expect((await client.subscribe('organizations', (event) => got.push(event))).ok).toBe(true);
    const created = await createOrg(a.baseUrl, owner.accessToken, owner.organization.id, 'Made on A');
    expect(created.status).toBe(201);
    await waitFor(() => got.length === 1, 10_000, 'the event on node B');
    expect(JSON.stringify(got[0]?.data)).toContain('Made on A');
    client.close();
  });

  test('when a node dies, its clients resume on the other node by seq, with no gap', async () => {
    const [a, b] = nodes as [ServerProcess, ServerProcess];
    const owner = await signUp(a.baseUrl);
    // The balancer sends the client to B first (B is listed first), and to A once B is gone.
    const balancer = startBalancer(() => [b.baseUrl, a.baseUrl].filter((url) => alive.has(url)));
    const got: RealtimeEvent[] = [];
    const client = connectRealtime({ url: balancer.url, token: owner.accessToken });
    expect((await client.subscribe('organizations', (event) => got.push(event))).ok).toBe(true);

    const total = 150;
    let created = 0;
    const writer = (async () => {
      for (let index = 0; index < total; index++) {
        const response = await createOrg(a.baseUrl, owner.accessToken, owner.organization.id, `Org ${index}`);
        expect(response.status).toBe(201);
        created++;
      }
    })();
    await waitFor(() => created >= 40, 20_000, 'some events before the failure');
    alive.delete(b.baseUrl);
    await b.stop('SIGKILL');
    await writer;
    await waitFor(() => got.length >= total, 30_000, `all ${total} events`);
    const seqs = got.map((event) => event.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(seqs).size).toBe(total);
    // Every organization created arrived, and only those: the channel's events in the log.
    const logged = await fetch(`${a.baseUrl}/v1/events?limit=1000&types=organization.created`, {
      headers: { authorization: `Bearer ${owner.accessToken}` },
    });
    const inLog = ((await logged.json()) as { items: Array<{ seq: number }> }).items.map(
      (event) => event.seq,
    );
    expect(seqs).toEqual(inLog.slice(1)); // the first is the root organization, created before subscribing
    client.close();
    balancer.close();
  }, 90_000);
});
