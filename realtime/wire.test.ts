import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { ConnectRefused, createWireServer, type WireSocket } from './wire.ts';

// The Socket.IO wire protocol as the gateway speaks it, checked frame by frame with a plain WebSocket.

const events: Array<[string, unknown[]]> = [];
let closed = 0;
const wire = createWireServer<{ name: string }>({
  pingIntervalMs: 200,
  pingTimeoutMs: 200,
  connectTimeoutMs: 300,
  async authenticate(auth) {
    const token = (auth as { token?: unknown } | null)?.token;
    if (token !== 'good') throw new ConnectRefused('unauthorized', 'Bad token.');
    return { name: 'tester' };
  },
  onConnect() {},
  onEvent(socket: WireSocket<{ name: string }>, event, args, ack) {
    events.push([event, args]);
    if (event === 'echo') ack?.({ echoed: args[0], by: socket.context?.name });
  },
  onClose() {
    closed++;
  },
});
let server: ReturnType<typeof Bun.serve>;
let base: string;

beforeAll(() => {
  server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch: (request, bunServer) => wire.handleRequest(request, bunServer as never) ?? new Response(null),
    websocket: wire.websocket as never,
  });
  base = `127.0.0.1:${server.port}`;
});
afterAll(() => {
  wire.close();
  server.stop(true);
});

/** A WebSocket with a queue of the text frames it received. */
function open(query = 'EIO=4&transport=websocket') {
  const ws = new WebSocket(`ws://${base}/socket.io/?${query}`);
  const frames: string[] = [];
  const waiters: Array<() => void> = [];
  let isClosed = false;
  ws.onmessage = (message) => {
    frames.push(String(message.data));
    for (const wake of waiters.splice(0)) wake();
  };
  ws.onclose = () => {
    isClosed = true;
    for (const wake of waiters.splice(0)) wake();
  };
  return {
    ws,
    closed: () => isClosed,
    async next(): Promise<string> {
      const deadline = Date.now() + 5000;
      while (frames.length === 0) {
        if (isClosed || Date.now() > deadline) throw new Error('no frame');
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100);
        });
      }
      return frames.shift() as string;
    },
  };
}

describe('the Socket.IO wire protocol', () => {
  test('open, connect with auth, an event with an ack, disconnect', async () => {
    const client = open();
    const handshake = JSON.parse((await client.next()).slice(1));
    expect(handshake).toMatchObject({ upgrades: [], pingInterval: 200, pingTimeout: 200, maxPayload: 65536 });
    client.ws.send('40{"token":"good"}');
    expect(await client.next()).toMatch(/^40\{"sid":"[\w-]+"\}$/);
    client.ws.send('4217["echo","hello"]');
    expect(await client.next()).toBe('4317[{"echoed":"hello","by":"tester"}]');
    const closedBefore = closed;
    client.ws.send('41');
    await Bun.sleep(50);
    expect(client.closed()).toBe(true);
    expect(closed).toBe(closedBefore + 1);
  });

  test('a refused connect carries the code and detail, as connect_error data', async () => {
    const client = open();
    await client.next();
    client.ws.send('40{"token":"bad"}');
    const frame = await client.next();
    expect(frame.startsWith('44')).toBe(true);
    expect(JSON.parse(frame.slice(2))).toEqual({
      message: 'Bad token.',
      data: { code: 'unauthorized', detail: 'Bad token.' },
    });
    // Events before a successful connect are ignored.
    const before = events.length;
    client.ws.send('42["echo","sneaky"]');
    await Bun.sleep(50);
    expect(events.length).toBe(before);
    client.ws.close();
  });

  test('long-polling, old protocol versions and other namespaces are refused clearly', async () => {
    const polling = await fetch(`http://${base}/socket.io/?EIO=4&transport=polling`);
    expect(polling.status).toBe(400);
    expect(await polling.json()).toEqual({
      code: 0,
      message: 'Transport unknown: use the websocket transport',
    });
    const old = await fetch(`http://${base}/socket.io/?EIO=3&transport=websocket`);
    expect(old.status).toBe(400);
    const client = open();
    await client.next();
    client.ws.send('40/admin,{"token":"good"}');
    expect(await client.next()).toBe('44/admin,{"message":"Invalid namespace"}');
    client.ws.close();
  });

  test('heartbeats: pings go out; a client that never answers, or never connects, is closed', async () => {
    const silent = open();
    await silent.next();
    silent.ws.send('40{"token":"good"}');
    await silent.next();
    expect(await silent.next()).toBe('2');
    // It does not answer the pings: gone after ping interval + timeout.
    const deadline = Date.now() + 3000;
    while (!silent.closed() && Date.now() < deadline) await Bun.sleep(50);
    expect(silent.closed()).toBe(true);

    const mute = open();
    await mute.next();
    const muteDeadline = Date.now() + 3000;
    while (!mute.closed() && Date.now() < muteDeadline) await Bun.sleep(50);
    expect(mute.closed()).toBe(true);
  });

  test('a client that answers pings stays; malformed frames are ignored, binary frames close', async () => {
    const client = open();
    await client.next();
    client.ws.send('40{"token":"good"}');
    await client.next();
    for (let index = 0; index < 4; index++) {
      expect(await client.next()).toBe('2');
      client.ws.send('3');
    }
    expect(client.closed()).toBe(false);
    for (const frame of ['42not json', '42{"a":1}', '42[1,2]', '4', '9', '']) client.ws.send(frame);
    client.ws.send('4218["echo","still here"]');
    let answer = await client.next();
    while (answer === '2') {
      client.ws.send('3');
      answer = await client.next();
    }
    expect(answer).toBe('4318[{"echoed":"still here","by":"tester"}]');
    client.ws.send(new Uint8Array([1, 2, 3]));
    const deadline = Date.now() + 2000;
    while (!client.closed() && Date.now() < deadline) await Bun.sleep(20);
    expect(client.closed()).toBe(true);
  });
});
