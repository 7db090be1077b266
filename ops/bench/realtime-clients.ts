export {};

/**
 * Many WebSocket clients in one process, light enough that the server is what gets measured: raw Bun
 * WebSockets speaking just enough Engine.IO/Socket.IO (open, connect with auth, ping/pong, subscribe,
 * events). Driven by lines on stdin, answering JSON lines on stdout.
 *
 *   connect <kind> <url> <count> [token]   kind: socketio | native; answers {"connected": n}
 *   count                                  answers {"received": n} (frames carrying events)
 *   latency <since-ms>                     answers p50/p99 of arrival - the event's occurredAt (its
 *                                          transaction's time: commit → client) and of arrival - the
 *                                          request's send time stamped in the name (request → client)
 *   close                                  closes everything and exits
 */
const sockets: WebSocket[] = [];
let received = 0;
const delays: number[] = [];
const requestDelays: number[] = [];

let opened = 0;

function connectSocketIo(url: string, token: string): Promise<WebSocket> {
  // One socket in ten also times what it receives; the rest only count (the clients share 2 cores with
  // the servers, and parsing every frame would measure this process instead).
  const timed = opened++ % 10 === 0;
  return new Promise((resolve, reject) => {
    const target = `${url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`;
    const ws = new WebSocket(target);
    const timer = setTimeout(() => reject(new Error('socket.io handshake timed out')), 30_000);
    ws.onmessage = (message) => {
      const text = String(message.data);
      if (text.startsWith('42')) {
        received++;
        if (!timed) return;
        const now = Date.now();
        // The event's time is its transaction's (just before the commit): commit → client.
        const occurred = /"occurredAt":"([^"]+)"/.exec(text)?.[1];
        if (occurred) delays.push(now - Date.parse(occurred));
        // Organization names carry the time the request was sent (`t:<ms>`): request → client.
        const stamp = /"name":"t:(\d+(?:\.\d+)?)"/.exec(text)?.[1];
        if (stamp) requestDelays.push(now - Number(stamp));
        return;
      }
      if (text === '2') return ws.send('3');
      if (text.startsWith('0{')) return ws.send(`40${JSON.stringify({ token })}`);
      if (text.startsWith('40{')) return ws.send('420["subscribe",{"channel":"organizations"}]');
      if (text.startsWith('430')) {
        clearTimeout(timer);
        if (!text.includes('"ok":true')) return reject(new Error(`subscribe refused: ${text}`));
        resolve(ws);
      }
      if (text.startsWith('44')) reject(new Error(`connect refused: ${text}`));
    };
    ws.onerror = () => reject(new Error('websocket error'));
  });
}

function connectNative(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace(/^http/, 'ws'));
    ws.onopen = () => resolve(ws);
    ws.onmessage = () => {
      received++;
    };
    ws.onerror = () => reject(new Error('websocket error'));
  });
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const answer = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);

const decoder = new TextDecoder();
let buffered = '';
for await (const chunk of Bun.stdin.stream()) {
  buffered += decoder.decode(chunk);
  let newline = buffered.indexOf('\n');
  while (newline >= 0) {
    const line = buffered.slice(0, newline).trim();
    buffered = buffered.slice(newline + 1);
    newline = buffered.indexOf('\n');
    const [command, ...args] = line.split(' ');
    if (command === 'connect') {
      const [kind, url, countArg, token = ''] = args;
      const count = Number(countArg);
      // In waves, so the server's accept queue is not flooded.
      for (let done = 0; done < count; done += 50) {
        const wave = Array.from({ length: Math.min(50, count - done) }, () =>
          kind === 'native' ? connectNative(url ?? '') : connectSocketIo(url ?? '', token),
        );
        sockets.push(...(await Promise.all(wave)));
      }
      answer({ connected: sockets.length });
    } else if (command === 'count') {
      answer({ received });
    } else if (command === 'latency') {
      const values = delays.splice(0);
      const fromRequest = requestDelays.splice(0);
      answer({
        samples: values.length,
        p50: percentile(values, 50),
        p99: percentile(values, 99),
        requestP50: percentile(fromRequest, 50),
        requestP99: percentile(fromRequest, 99),
      });
    } else if (command === 'close') {
      for (const ws of sockets) ws.close();
      answer({ closed: true });
      process.exit(0);
    }
  }
}
