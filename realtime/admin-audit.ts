import type { EventEnvelope } from './events.ts';

/** The platform's channel: every tenant's audit entries, in the order of the audit feed. */
export const ADMIN_AUDIT = 'admin:audit';
const TOPIC = 'admin:audit';

/** Where the admin channel reads from (the server's side: Postgres, as the platform admin). */
export interface AdminAuditSource {
  /** Whether the socket's person is a platform admin now (their session already checked live). */
  isPlatformAdmin(userId: string): Promise<boolean>;
  /** `audit.recorded` events after `position` in feed order, with `auditPosition`, at most `limit`. */
  after(userId: string, position: number, limit: number): Promise<EventEnvelope[]>;
  /** The newest position of the feed (0 when empty). */
  head(userId: string): Promise<number>;
}

export interface AdminAuditSocket {
  emit(event: string, data: unknown): void;
  ws: { subscribe(topic: string): void; unsubscribe(topic: string): void; send(frame: string): void };
}

/** While replaying: live events wait in `buffer`; after (`buffer` null), those up to `last` are dropped. */
interface Catching {
  buffer: EventEnvelope[] | null;
  last: number;
}

const frameOf = (event: EventEnvelope) =>
  `42${JSON.stringify(['event', { ...event, channel: ADMIN_AUDIT }])}`;

/**
 * `admin:audit` for the gateway: a platform admin's socket receives every tenant's `audit.recorded`
 * events. The order is the feed's position (assigned by the relay, visible in increasing order), so
 * `subscribe {channel: 'admin:audit', after: <position>}` replays what was missed from Postgres and then
 * joins the live topic with no gap and no duplicate at the seam — the same buffer-then-join steps as the
 * tenant channels, keyed by position instead of seq.
 */
export function createAdminAuditChannel(options: {
  source: AdminAuditSource;
  publish(topic: string, frame: string): void;
  replayLimit: number;
}) {
  const joined = new Set<AdminAuditSocket>();
  const catching = new Map<AdminAuditSocket, Catching>();

  function leave(socket: AdminAuditSocket) {
    socket.ws.unsubscribe(TOPIC);
    joined.delete(socket);
    catching.delete(socket);
  }

  function join(socket: AdminAuditSocket) {
    catching.delete(socket);
    socket.ws.subscribe(TOPIC);
    joined.add(socket);
  }

  async function replay(socket: AdminAuditSocket, userId: string, after: number) {
    let last = after;
    let sent = 0;
    for (;;) {
      const page = await options.source.after(userId, last, 500);
      for (const event of page) {
        socket.emit('event', { ...event, channel: ADMIN_AUDIT });
        last = event.auditPosition ?? last;
        sent++;
      }
      if (page.length < 500) return { sent, last };
      if (sent >= options.replayLimit) {
        throw Object.assign(new Error(`More than ${options.replayLimit} entries to replay.`), {
          code: 'too-far-behind',
        });
      }
    }
  }

  return {
    /** Whether the socket follows the channel (joined or catching up). */
    has: (socket: AdminAuditSocket) => joined.has(socket) || catching.has(socket),
    leave,

    /** Subscribes a socket already known to be a platform admin's; answers what was replayed. */
    async subscribe(socket: AdminAuditSocket, userId: string, requested: number | null) {
      leave(socket);
      const after = requested ?? (await options.source.head(userId));
      const state: Catching = { buffer: [], last: after };
      catching.set(socket, state);
      let replayed: { sent: number; last: number };
      try {
        replayed = await replay(socket, userId, after);
      } catch (error) {
        if (catching.get(socket) === state) leave(socket);
        throw error;
      }
      if (catching.get(socket) !== state) return { replayed: replayed.sent, seq: replayed.last };
      let last = replayed.last;
      let sent = replayed.sent;
      for (const event of state.buffer ?? []) {
        const position = event.auditPosition ?? 0;
        if (position <= last) continue;
        socket.emit('event', { ...event, channel: ADMIN_AUDIT });
        last = position;
        sent++;
      }
      if (last > replayed.last) join(socket);
      else {
        state.buffer = null;
        state.last = last;
      }
      return { replayed: sent, seq: last };
    },

    /** A relayed `audit.recorded` event: to the topic, and to sockets still catching up. */
    deliver(event: EventEnvelope) {
      const position = event.auditPosition;
      if (event.type !== 'audit.recorded' || position === undefined) return;
      const frame = frameOf(event);
      options.publish(TOPIC, frame);
      for (const [socket, state] of catching) {
        if (state.buffer) {
          state.buffer.push(event);
          continue;
        }
        if (position <= state.last) continue;
        socket.ws.send(frame);
        join(socket);
      }
    },

    /** Sockets on the channel, to re-check that their person is still a platform admin. */
    sockets: () => [...joined, ...catching.keys()],
  };
}

export type AdminAuditChannel = ReturnType<typeof createAdminAuditChannel>;
