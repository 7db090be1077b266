import type { Server as BunServer, ServerWebSocket, WebSocketHandler } from 'bun';

// A Socket.IO endpoint (protocol v5 over Engine.IO v4) for WebSocket clients, with only what Wrapper's
// channels use: the main namespace, CONNECT with auth, CONNECT_ERROR with data, events with acks, and
// heartbeats. Stock Socket.IO keeps several objects per socket (≈ 30 KB idle); here a socket is one small
// object next to Bun's native WebSocket, heartbeats go out through one native publish for everyone, and
// broadcasts are Bun topics. Any Socket.IO client (v3/v4) connects with `transports: ['websocket']`.

export interface WireSocket<Context> {
  readonly id: string;
  readonly ws: ServerWebSocket<WireData<Context>>;
  /** Set once the client's CONNECT was accepted. */
  context: Context | null;
  emit(event: string, payload: unknown): void;
  /** Sends DISCONNECT and closes the connection. */
  disconnect(): void;
}

export interface WireData<Context> {
  id: string;
  /** Made when Bun opens the WebSocket. */
  wire: WireSocket<Context>;
  lastPong: number;
  openedAt: number;
}

/** A refusal of CONNECT: becomes the client's `connect_error` with `data: {code, detail}`. */
export class ConnectRefused extends Error {
  constructor(
    readonly code: string,
    readonly detail: string,
  ) {
    super(detail);
  }
}

export interface WireOptions<Context> {
  path?: string;
  pingIntervalMs?: number;
  pingTimeoutMs?: number;
  maxPayload?: number;
  /** Time from opening to a CONNECT packet. @default 10000 */
  connectTimeoutMs?: number;
  /** Buffered bytes a slow reader may hold before it is dropped. @default 4 MiB */
  backpressureLimit?: number;
  authenticate(auth: unknown): Promise<Context>;
  onConnect(socket: WireSocket<Context>): void;
  onEvent(socket: WireSocket<Context>, event: string, args: unknown[], ack?: (answer: unknown) => void): void;
  onClose(socket: WireSocket<Context>): void;
  onError?(error: unknown): void;
}

const HEARTBEAT_TOPIC = 'wr:heartbeat';
const PACKET = { open: '0', close: '1', ping: '2', pong: '3', message: '4' } as const;

/** What a frame may carry at the transport: well above `maxPayload`, so oversized packets get an answer. */
const transportCap = (maxPayload: number) => Math.max(maxPayload * 16, 1024 * 1024);

const jsonResponse = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

export function createWireServer<Context>(options: WireOptions<Context>) {
  const path = options.path ?? '/socket.io/';
  const pingInterval = options.pingIntervalMs ?? 25_000;
  const pingTimeout = options.pingTimeoutMs ?? 20_000;
  const maxPayload = options.maxPayload ?? 64 * 1024;
  const connectTimeout = options.connectTimeoutMs ?? 10_000;
  const sockets = new Set<ServerWebSocket<WireData<Context>>>();
  let server: BunServer<unknown> | null = null;

  const handshake = (id: string) =>
    `${PACKET.open}${JSON.stringify({ sid: id, upgrades: [], pingInterval, pingTimeout, maxPayload })}`;

  function makeSocket(ws: ServerWebSocket<WireData<Context>>, id: string): WireSocket<Context> {
    return {
      id,
      ws,
      context: null,
      emit(event, payload) {
        ws.send(`42${JSON.stringify([event, payload])}`);
      },
      disconnect() {
        ws.send('41');
        ws.close(1000, 'server disconnect');
      },
    };
  }

  // One timer for every socket: the ping goes out as a single native publish; silent sockets are closed.
  const heartbeat = setInterval(() => {
    server?.publish(HEARTBEAT_TOPIC, PACKET.ping);
    const deadline = Date.now() - pingInterval - pingTimeout;
    for (const ws of sockets) {
      if (ws.data.wire.context === null && ws.data.openedAt < Date.now() - connectTimeout)
        ws.close(1008, 'no connect');
      else if (ws.data.lastPong < deadline) ws.close(1001, 'ping timeout');
    }
  }, pingInterval);
  heartbeat.unref?.();

  function onMessage(ws: ServerWebSocket<WireData<Context>>, raw: string | Buffer) {
    if (typeof raw !== 'string') {
      ws.close(1003, 'binary frames are not supported');
      return;
    }
    if (raw.length > maxPayload) {
      refuseOversized(ws, raw);
      return;
    }
    const type = raw[0];
    if (type === PACKET.pong) {
      ws.data.lastPong = Date.now();
      return;
    }
    if (type === PACKET.close) {
      ws.close(1000, 'client close');
      return;
    }
    if (type !== PACKET.message) return;
    const socketPacket = raw[1];
    const wire = ws.data.wire;
    if (socketPacket === '0') {
      void connect(ws, raw.slice(2));
      return;
    }
    if (socketPacket === '1') {
      ws.close(1000, 'client disconnect');
      return;
    }
    if (socketPacket !== '2' || wire.context === null) return;
    // 42[ackId][...]: an event, with an ack id when the client waits for an answer.
    let index = 2;
    while (index < raw.length && raw.charCodeAt(index) >= 48 && raw.charCodeAt(index) <= 57) index++;
    const ackId = index > 2 ? raw.slice(2, index) : null;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.slice(index));
    } catch {
      return;
    }
    if (!Array.isArray(parsed) || typeof parsed[0] !== 'string') return;
    const [event, ...args] = parsed as [string, ...unknown[]];
    let answered = false;
    const ack =
      ackId === null
        ? undefined
        : (answer: unknown) => {
            if (answered) return;
            answered = true;
            if (ws.readyState === 1) ws.send(`43${ackId}${JSON.stringify([answer])}`);
          };
    try {
      options.onEvent(wire, event, args, ack);
    } catch (error) {
      options.onError?.(error);
    }
  }

  /**
   * A packet over the advertised `maxPayload` gets an answer the client can show: a CONNECT a
   * `connect_error` (the socket then closes), an event waiting for an ack an error ack; other packets
   * are dropped. The transport itself takes more (`transportCap`), so such packets arrive to be refused.
   */
  function refuseOversized(ws: ServerWebSocket<WireData<Context>>, raw: string) {
    const detail = `Packets are limited to ${maxPayload} characters.`;
    const refusal = { code: 'payload-too-large', detail };
    if (raw.startsWith('40') && ws.data.wire.context === null) {
      ws.send(`44${JSON.stringify({ message: detail, data: refusal })}`);
      ws.close(1009, 'connect packet too large');
      return;
    }
    const ackId = /^42(\d{1,15})/.exec(raw)?.[1];
    if (ackId && ws.data.wire.context !== null) {
      ws.send(`43${ackId}${JSON.stringify([{ ok: false, error: refusal.code, detail }])}`);
    }
  }

  async function connect(ws: ServerWebSocket<WireData<Context>>, payload: string) {
    const wire = ws.data.wire;
    if (wire.context !== null) return;
    // A namespace other than the main one: `40/admin,{...}`.
    if (payload.startsWith('/')) {
      const namespace = payload.slice(0, payload.includes(',') ? payload.indexOf(',') : undefined);
      ws.send(`44${namespace},${JSON.stringify({ message: 'Invalid namespace' })}`);
      return;
    }
    let auth: unknown = {};
    if (payload) {
      try {
        auth = JSON.parse(payload);
      } catch {
        auth = null;
      }
    }
    try {
      const context = await options.authenticate(auth);
      if (ws.readyState !== 1) return;
      wire.context = context;
      ws.send(`40${JSON.stringify({ sid: wire.id })}`);
      options.onConnect(wire);
    } catch (error) {
      const refusal =
        error instanceof ConnectRefused
          ? error
          : new ConnectRefused('unavailable', 'Cannot check the token right now.');
      if (!(error instanceof ConnectRefused)) options.onError?.(error);
      if (ws.readyState === 1) {
        ws.send(
          `44${JSON.stringify({ message: refusal.detail, data: { code: refusal.code, detail: refusal.detail } })}`,
        );
      }
    }
  }

  const websocket: WebSocketHandler<WireData<Context>> = {
    maxPayloadLength: transportCap(maxPayload),
    backpressureLimit: options.backpressureLimit ?? 4 * 1024 * 1024,
    closeOnBackpressureLimit: true,
    idleTimeout: Math.ceil((pingInterval + pingTimeout) / 1000) + 10,
    sendPings: false,
    open(ws) {
      ws.data.wire = makeSocket(ws, ws.data.id);
      sockets.add(ws);
      ws.subscribe(HEARTBEAT_TOPIC);
      ws.send(handshake(ws.data.wire.id));
    },
    message: onMessage,
    close(ws) {
      sockets.delete(ws);
      const wire = ws.data.wire;
      if (wire.context !== null) {
        try {
          options.onClose(wire);
        } catch (error) {
          options.onError?.(error);
        }
      }
    },
  };

  return {
    path,
    websocket,
    /** Upgrades a Socket.IO WebSocket request; anything else (long-polling, old protocols) is refused. */
    handleRequest(request: Request, bunServer: BunServer<unknown>): Response | undefined {
      server ??= bunServer;
      const url = new URL(request.url);
      if (url.searchParams.get('EIO') !== '4') {
        return jsonResponse(400, { code: 5, message: 'Unsupported protocol version' });
      }
      if (
        url.searchParams.get('transport') !== 'websocket' ||
        request.headers.get('upgrade')?.toLowerCase() !== 'websocket'
      ) {
        return jsonResponse(400, { code: 0, message: 'Transport unknown: use the websocket transport' });
      }
      const id = Buffer.from(crypto.getRandomValues(new Uint8Array(15))).toString('base64url');
      // `wire` is filled in by `open`, once Bun has the WebSocket.
      const data = { id, lastPong: Date.now(), openedAt: Date.now() } as WireData<Context>;
      const upgraded = (bunServer as BunServer<WireData<Context>>).upgrade(request, { data });
      if (!upgraded) return jsonResponse(400, { code: 3, message: 'Bad request' });
      return undefined;
    },
    /** The Bun server, once a request has shown it (for native publishing). */
    server: () => server,
    count: () => sockets.size,
    close() {
      clearInterval(heartbeat);
      for (const ws of sockets) ws.close(1001, 'server shutting down');
    },
  };
}
