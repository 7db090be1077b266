import { and, asc, gt, inArray } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { sqlStateOf } from '../db/errors.ts';
import { eventSequences, events } from '../db/schema/index.ts';
import { type TenantActor, withTenant } from '../db/tenant.ts';
import type { AccessSignal } from './access-signal.ts';
import { ADMIN_AUDIT, type AdminAuditSource, createAdminAuditChannel } from './admin-audit.ts';
import type { EventBus } from './bus.ts';
import {
  type Channel,
  channelCatalog,
  channelOf,
  type EventEnvelope,
  type EventType,
  eventCatalog,
  eventTypes,
} from './events.ts';
import { toEnvelope } from './relay.ts';
import { ConnectRefused, createWireServer, type WireSocket } from './wire.ts';

/** What the gateway needs to know who is connecting (the same checks as the REST API). */
export interface GatewayIdentity {
  verifyAccessToken(token: string): Promise<{
    userId: string;
    tenantId: string;
    sessionId?: string;
    expiresAt?: number;
    /** The person's name as the token carries it (for the audit entry of following admin:audit). */
    name?: string;
  } | null>;
  resolveApiKey(secret: string): Promise<{
    apiKeyId: string;
    userId: string;
    tenantId: string;
    credentialExpiresAt?: number;
  } | null>;
  /** The caller's tenant-wide permissions; throws when the membership, session or key is not live. */
  permissionsOf(actor: TenantActor): Promise<Set<string>>;
  /** The cross-tenant audit feed for platform admins (`admin:audit`); without it, the channel is refused. */
  adminAudit?: AdminAuditSource;
  /**
   * Records that `actor` follows an audit channel from `after` (null: from now) — a read of the audit
   * log like any other: `audit` in the tenant, `admin:audit` (every tenant) in the admin's own tenant.
   */
  auditFollowed?(actor: Actor, channel: 'audit' | typeof ADMIN_AUDIT, after: number | null): Promise<void>;
}

export interface GatewayOptions {
  database: Database;
  bus: EventBus;
  identity: GatewayIdentity;
  /** Access changes told by other nodes (and this one): those tenants' sockets are re-checked at once. */
  accessSignal?: AccessSignal;
  logger?: { warn(object: unknown, message?: string): void };
  /** After a token expires, how long the socket has to send `reauth` before it is closed. @default 30000 */
  reauthGraceMs?: number;
  /** Every socket's membership, credential and permissions are checked again this often. @default 60000 */
  revalidateMs?: number;
  /** Events replayed for one `subscribe` at most; further behind, the client pages `GET /v1/events`. */
  replayLimit?: number;
  pingIntervalMs?: number;
}

/** Who holds a socket; `name` as the token or key names them (the actor of audit entries). */
export type Actor = TenantActor & { expiresAt?: number; name?: string };

interface Connection {
  socket: WireSocket<Actor>;
  actor: Actor;
  channels: Set<Channel>;
  /**
   * Channels not yet on the native topic. While the log is replayed, live events wait in `buffer`; after,
   * (`buffer` null) live events up to `last` are dropped (the replay had them: the bus can lag the log)
   * and the first newer one is sent here before the socket joins the topic.
   */
  replaying: Map<Channel, { buffer: EventEnvelope[] | null; last: number }>;
  reauthTimer?: ReturnType<typeof setTimeout>;
  /** Requests of this socket that reach the database (subscribe, reauth), run one after another. */
  work: Promise<void>;
  pending: number;
}

/** A subscriber-visible problem, as `connect_error` data or an ack's `error`. */
class GatewayError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** Sent with the refusal, e.g. where a pruned log starts. */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

const channelTypes = new Map<Channel, EventType[]>(
  (Object.keys(channelCatalog) as Channel[]).map((channel) => [
    channel,
    eventTypes.filter((type) => eventCatalog[type].channel === channel),
  ]),
);

const MAX_SEQ = Number.MAX_SAFE_INTEGER;
/**
 * Requests one socket may have waiting: a burst past it is answered at once with `too-many-requests`
 * instead of queueing database work that would slow every other socket and request.
 */
const MAX_PENDING_PER_SOCKET = 16;

/**
 * The realtime gateway: the Socket.IO protocol over Bun WebSockets (`wire.ts`) on the API's own port.
 * - Handshake `auth: {token}` (access token or API key), checked like a REST request.
 * - `subscribe {channel, after?}` (ack `{ok, error?, replayed?, seq?}`): the channel's permission is
 *   checked in Postgres; with `after`, the missed events are replayed from the event log in order, then
 *   live ones follow with no gap and no duplicate at the seam.
 * - Live events come from the bus (every node sees every event), are encoded once and handed to Bun's
 *   native pub/sub (`server.publish` to topic `t:<tenant>:<channel>`), keeping the Socket.IO wire
 *   format.
 * - A membership change takes the member's sockets out of their rooms before the next event; their
 *   channels are re-checked and, where still allowed, resumed from where they were.
 * - A token that expires asks for `reauth {token}`; without one in time, the socket is closed.
 */
export function createGateway(options: GatewayOptions) {
  const { database, bus, identity } = options;
  const reauthGraceMs = options.reauthGraceMs ?? 30_000;
  const revalidateMs = options.revalidateMs ?? 60_000;
  const replayLimit = options.replayLimit ?? 10_000;
  const pingInterval = options.pingIntervalMs ?? 25_000;

  const connections = new Map<string, Connection>();
  /** Sockets per tenant and person, to act on membership changes. */
  const byMember = new Map<string, Set<Connection>>();
  /** Sockets replaying or catching up on a topic, handled one by one until they join it. */
  const replayingByTopic = new Map<string, Set<Connection>>();
  /** The last seq sent to each topic on this node: where a re-checked channel resumes. */
  const topicSeq = new Map<string, number>();

  const memberKey = (tenantId: string, userId: string) => `${tenantId}:${userId}`;
  const topicOf = (connection: Connection, channel: Channel) =>
    channel === 'notifications'
      ? `u:${connection.actor.tenantId}:${connection.actor.userId}:notifications`
      : `t:${connection.actor.tenantId}:${channel}`;
  const topicOfEvent = (event: EventEnvelope, channel: Channel) =>
    channel === 'notifications'
      ? `u:${event.tenantId}:${(event.data as { userId?: string }).userId ?? ''}:notifications`
      : `t:${event.tenantId}:${channel}`;

  function join(connection: Connection, channel: Channel) {
    connection.socket.ws.subscribe(topicOf(connection, channel));
    connection.channels.add(channel);
  }

  function leave(connection: Connection, channel: Channel) {
    connection.socket.ws.unsubscribe(topicOf(connection, channel));
    connection.channels.delete(channel);
    endReplay(connection, channel);
  }

  function startReplay(
    connection: Connection,
    channel: Channel,
    state: { buffer: EventEnvelope[] | null; last: number },
  ) {
    endReplay(connection, channel);
    connection.replaying.set(channel, state);
    const topic = topicOf(connection, channel);
    const replaying = replayingByTopic.get(topic) ?? new Set();
    replaying.add(connection);
    replayingByTopic.set(topic, replaying);
  }

  function endReplay(connection: Connection, channel: Channel) {
    if (!connection.replaying.delete(channel)) return;
    const topic = topicOf(connection, channel);
    const replaying = replayingByTopic.get(topic);
    replaying?.delete(connection);
    if (replaying?.size === 0) replayingByTopic.delete(topic);
  }

  function withChannel(event: EventEnvelope, channel: Channel) {
    return { ...event, channel };
  }

  const adminAudit = identity.adminAudit
    ? createAdminAuditChannel({
        source: identity.adminAudit,
        publish: (topic, frame) => wire.server()?.publish(topic, frame),
        replayLimit,
      })
    : null;

  /** Sends one event to everyone on its topic: encoded once, written by Bun for every WebSocket. */
  function deliver(event: EventEnvelope) {
    if (event.type === 'audit.recorded') adminAudit?.deliver(event);
    const channel = channelOf(event.type);
    const topic = topicOfEvent(event, channel);
    topicSeq.set(topic, Math.max(topicSeq.get(topic) ?? 0, event.seq));
    // Engine.IO message (4) carrying a Socket.IO EVENT (2) on the main namespace, encoded once.
    const frame = `42${JSON.stringify(['event', withChannel(event, channel)])}`;
    wire.server()?.publish(topic, frame);
    for (const connection of replayingByTopic.get(topic) ?? []) {
      const state = connection.replaying.get(channel);
      if (!state) continue;
      if (state.buffer) {
        state.buffer.push(event);
        continue;
      }
      if (event.seq <= state.last) continue;
      // The first event past the replay: sent here (the topic's publish above did not reach this socket),
      // then the socket joins the topic for everything after.
      connection.socket.ws.send(frame);
      endReplay(connection, channel);
      join(connection, channel);
    }
  }

  async function authenticate(token: unknown): Promise<Actor> {
    if (typeof token !== 'string' || token.length === 0 || token.length > 4096) {
      throw new GatewayError('unauthorized', 'Send an access token or API key as auth: {token}.');
    }
    let actor: Actor;
    if (token.startsWith('wr_')) {
      const key = await identity.resolveApiKey(token);
      if (!key) throw new GatewayError('unauthorized', 'The API key is invalid.');
      actor = { ...key, permission: null };
    } else {
      const claims = await identity.verifyAccessToken(token);
      if (!claims) throw new GatewayError('unauthorized', 'The access token is invalid or has expired.');
      actor = { ...claims, permission: null };
    }
    await permissionsOf(actor);
    return actor;
  }

  async function permissionsOf(actor: TenantActor): Promise<Set<string>> {
    try {
      return await identity.permissionsOf({ ...actor, permission: null });
    } catch (error) {
      // Anything but a refusal (the database unreachable, say) is not the client's fault.
      throw new GatewayError('unauthorized', describeRefusal(error));
    }
  }

  /** The refusal Postgres gave (WR401 from `require_access`), in words a client can show. */
  function describeRefusal(error: unknown): string {
    const messages: string[] = [];
    for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; depth++) {
      messages.push(current.message);
      current = current.cause;
    }
    const text = messages.join(' ');
    if (/session or API key has ended|session has ended/.test(text))
      return 'The session or API key has ended.';
    if (/no active membership/.test(text)) return 'You are not an active member of this tenant.';
    if (sqlStateOf(error) === 'WR401') return 'Not signed in to this tenant any more.';
    throw error;
  }

  function mayRead(channel: Channel, permissions: Set<string>): boolean {
    const needed = channelCatalog[channel].permission;
    return needed === null || permissions.has(needed);
  }

  /** The tenant's latest seq, and up to which seq its log may have been pruned. */
  async function logBounds(tenantId: string): Promise<{ head: number; pruned: number }> {
    const [row] = await withTenant(database, tenantId, (db) =>
      db
        .select({ lastSeq: eventSequences.lastSeq, prunedSeq: eventSequences.prunedSeq })
        .from(eventSequences),
    );
    return { head: row?.lastSeq ?? 0, pruned: row?.prunedSeq ?? 0 };
  }

  /** Sends the channel's events after `after` from the log, in order; answers how many and the last seq. */
  async function replay(
    connection: Connection,
    channel: Channel,
    after: number,
  ): Promise<{ sent: number; last: number }> {
    const types = channelTypes.get(channel) ?? [];
    let last = after;
    let sent = 0;
    if (types.length === 0) return { sent, last };
    for (;;) {
      const from = last;
      const rows = await withTenant(database, connection.actor.tenantId, (db) =>
        db
          .select()
          .from(events)
          .where(and(gt(events.seq, from), inArray(events.type, types)))
          .orderBy(asc(events.seq))
          .limit(500),
      );
      for (const row of rows) {
        last = row.seq;
        const envelope = toEnvelope(row);
        if (
          channel === 'notifications' &&
          (envelope.data as { userId?: string }).userId !== connection.actor.userId
        )
          continue;
        connection.socket.emit('event', withChannel(envelope, channel));
        sent++;
      }
      if (rows.length < 500) return { sent, last };
      if (sent >= replayLimit) {
        throw new GatewayError(
          'too-far-behind',
          `More than ${replayLimit} events to replay: page GET /v1/events first.`,
        );
      }
    }
  }

  /**
   * Joins `channel`, replaying what came after `after` first. Live events that arrive meanwhile wait in a
   * buffer; the buffer is flushed and the socket joins the topic in one synchronous step, so nothing
   * falls between the replay and the live stream, and nothing comes twice.
   */
  async function subscribe(connection: Connection, channel: Channel, requested: number | null) {
    if (connection.channels.has(channel) && requested === null) {
      return { replayed: 0, seq: topicSeq.get(topicOf(connection, channel)) ?? 0 };
    }
    leave(connection, channel);
    // Without `after`, the subscription starts at the tenant's head; the answer says which seq that is,
    // so a client can resume from it after a reconnect even if nothing arrived in between.
    const bounds = await logBounds(connection.actor.tenantId);
    if (requested !== null && requested < bounds.pruned) {
      throw new GatewayError(
        'events-pruned',
        `Events up to seq ${bounds.pruned} are no longer kept: load the current state, then subscribe without \`after\`.`,
        { earliestSeq: bounds.pruned + 1, headSeq: bounds.head },
      );
    }
    const after = requested ?? bounds.head;
    const state: { buffer: EventEnvelope[] | null; last: number } = { buffer: [], last: after };
    startReplay(connection, channel, state);
    connection.channels.add(channel);
    let replayed: { sent: number; last: number };
    try {
      replayed = await replay(connection, channel, after);
    } catch (error) {
      if (connection.replaying.get(channel) === state) leave(connection, channel);
      throw error;
    }
    // Left, or subscribed again, while replaying: that newer call owns the channel now.
    if (connection.replaying.get(channel) !== state) return { replayed: replayed.sent, seq: replayed.last };
    // Live events that arrived during the replay; the log may already have had some of them.
    let last = replayed.last;
    let sent = replayed.sent;
    const buffered = state.buffer ?? [];
    for (const event of buffered) {
      if (event.seq <= last) continue;
      connection.socket.emit('event', withChannel(event, channel));
      last = event.seq;
      sent++;
    }
    if (last > replayed.last) {
      // The live stream is already past the replay: nothing older can come now. Join in this same tick.
      endReplay(connection, channel);
      join(connection, channel);
    } else {
      // Events the replay read may still be on their way through the bus: drop those, join on the next.
      state.buffer = null;
      state.last = last;
    }
    return { replayed: sent, seq: last };
  }

  /** A platform admin's socket on `admin:audit` leaves it once its person is no longer one. */
  async function recheckPlatformAdmin(connection: Connection) {
    let still: boolean;
    try {
      still = (await identity.adminAudit?.isPlatformAdmin(connection.actor.userId)) === true;
    } catch (error) {
      options.logger?.warn({ err: error }, 'realtime re-check failed');
      return;
    }
    if (still) return;
    adminAudit?.leave(connection.socket);
    connection.socket.emit('unsubscribed', { channel: ADMIN_AUDIT, reason: 'forbidden' });
  }

  /** Subscribes a platform admin's session (never an API key) to every tenant's audit entries. */
  async function subscribeAdminAudit(connection: Connection, after: number | null) {
    if (!adminAudit || !identity.adminAudit) {
      throw new GatewayError('unknown-channel', 'The admin:audit channel is not served here.');
    }
    await permissionsOf(connection.actor); // a live membership and session, like every channel
    if (connection.actor.apiKeyId || !(await identity.adminAudit.isPlatformAdmin(connection.actor.userId))) {
      throw new GatewayError('forbidden', 'Only platform admins, signed in, may follow admin:audit.');
    }
    await identity.auditFollowed?.(connection.actor, ADMIN_AUDIT, after);
    try {
      return await adminAudit.subscribe(connection.socket, connection.actor.userId, after);
    } catch (error) {
      const { code, earliestPosition } = error as { code?: unknown; earliestPosition?: number };
      if (code === 'too-far-behind') throw new GatewayError('too-far-behind', (error as Error).message);
      if (code === 'events-pruned') {
        throw new GatewayError('events-pruned', (error as Error).message, { earliestPosition });
      }
      throw error;
    }
  }

  /** Re-checks a socket: gone if its membership or credential ended; out of channels it may no longer read. */
  async function revalidate(connection: Connection, resumeFrom: Map<Channel, number> | null) {
    let permissions: Set<string>;
    try {
      permissions = await permissionsOf(connection.actor);
    } catch (error) {
      if (!(error instanceof GatewayError)) {
        // The database could not answer: keep the socket, try again at the next check.
        options.logger?.warn({ err: error }, 'realtime re-check failed');
        return;
      }
      connection.socket.emit('revoked', { code: error.code, reason: error.message });
      connection.socket.disconnect();
      return;
    }
    if (adminAudit?.has(connection.socket)) await recheckPlatformAdmin(connection);
    for (const channel of [...connection.channels, ...(resumeFrom?.keys() ?? [])]) {
      if (!mayRead(channel, permissions)) {
        leave(connection, channel);
        connection.socket.emit('unsubscribed', { channel, reason: 'forbidden' });
      } else if (resumeFrom?.has(channel)) {
        await subscribe(connection, channel, resumeFrom.get(channel) ?? 0).catch(() => {
          leave(connection, channel);
          connection.socket.emit('unsubscribed', { channel, reason: 'resubscribe' });
        });
      }
    }
  }

  /**
   * A membership change for one person: before the next event goes out, their sockets in that tenant
   * leave every room; each is then re-checked and resumes the channels it may still read.
   */
  function onMembershipChange(event: EventEnvelope) {
    const userId = (event.data as { userId?: string; member?: { userId: string } }).userId;
    if (!userId) return;
    for (const connection of byMember.get(memberKey(event.tenantId, userId)) ?? []) {
      const resumeFrom = new Map<Channel, number>();
      for (const channel of [...connection.channels]) {
        // Joined: it has had everything this node sent the topic. Not yet joined: what it was last sent
        // (mid-replay, from where the replay began: a repeat at worst, never a gap).
        const state = connection.replaying.get(channel);
        resumeFrom.set(channel, state ? state.last : (topicSeq.get(topicOf(connection, channel)) ?? 0));
        leave(connection, channel);
      }
      void revalidate(connection, resumeFrom);
    }
  }

  const unsubscribeBus = bus.subscribe((event) => {
    try {
      if (
        event.type === 'membership.removed' ||
        event.type === 'membership.status_changed' ||
        event.type === 'membership.role_changed'
      ) {
        // Delivered first, so the person learns of it; then their sockets leave before anything else.
        deliver(event);
        onMembershipChange(event);
        return;
      }
      deliver(event);
    } catch (error) {
      options.logger?.warn({ err: error }, 'realtime delivery failed');
    }
  });

  /** Re-checks the sockets a few at a time, so checks never crowd out requests for database connections. */
  async function revalidateAll(queue: Connection[]) {
    const worker = async () => {
      for (let next = queue.pop(); next; next = queue.pop()) {
        if (connections.has(next.socket.id)) await revalidate(next, null);
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
  }

  let revalidating = false;
  const revalidation = setInterval(async () => {
    if (revalidating) return;
    revalidating = true;
    try {
      await revalidateAll([...connections.values()]);
    } finally {
      revalidating = false;
    }
  }, revalidateMs);

  // A session ended, a key revoked, a role edited, a tenant suspended: those tenants' sockets now.
  const unsubscribeSignal = options.accessSignal?.subscribe((tenantIds) => {
    const changed = new Set(tenantIds);
    const affected = [...connections.values()].filter((connection) => changed.has(connection.actor.tenantId));
    if (affected.length > 0) void revalidateAll(affected);
  });
  revalidation.unref?.();

  function scheduleReauth(connection: Connection) {
    if (connection.reauthTimer) clearTimeout(connection.reauthTimer);
    const expiresAt = connection.actor.expiresAt ?? connection.actor.credentialExpiresAt;
    if (expiresAt === undefined) return;
    const wait = Math.max(0, expiresAt - Date.now());
    connection.reauthTimer = setTimeout(
      () => {
        connection.socket.emit('reauth_required', { reason: 'token-expired', graceMs: reauthGraceMs });
        connection.reauthTimer = setTimeout(() => {
          connection.socket.emit('revoked', {
            code: 'token-expired',
            reason: 'No fresh token arrived in time.',
          });
          connection.socket.disconnect();
        }, reauthGraceMs);
      },
      Math.min(wait, 2 ** 31 - 1),
    );
  }

  function queue(connection: Connection, reply: (answer: unknown) => void, run: () => Promise<void>) {
    if (connection.pending >= MAX_PENDING_PER_SOCKET) {
      reply({
        ok: false,
        error: 'too-many-requests',
        detail: `At most ${MAX_PENDING_PER_SOCKET} requests may wait per socket; wait for the acks.`,
      });
      return;
    }
    connection.pending++;
    connection.work = connection.work.then(run).finally(() => {
      connection.pending--;
    });
  }

  async function onSubscribe(connection: Connection, input: unknown, reply: (answer: unknown) => void) {
    try {
      const { channel, after } = parseSubscribe(input);
      if (channel === ADMIN_AUDIT) {
        reply({ ok: true, channel, ...(await subscribeAdminAudit(connection, after)) });
        return;
      }
      const permissions = await permissionsOf(connection.actor);
      if (!mayRead(channel, permissions)) {
        throw new GatewayError(
          'forbidden',
          `The "${channelCatalog[channel].permission}" permission is required.`,
        );
      }
      if (channel === 'audit') await identity.auditFollowed?.(connection.actor, channel, after);
      const result = await subscribe(connection, channel, after);
      reply({ ok: true, channel, ...result });
    } catch (error) {
      const refusal =
        error instanceof GatewayError ? error : new GatewayError('internal', 'The subscription failed.');
      if (!(error instanceof GatewayError)) options.logger?.warn({ err: error }, 'realtime subscribe failed');
      reply({ ok: false, error: refusal.code, detail: refusal.message, ...refusal.extra });
    }
  }

  async function onReauth(connection: Connection, input: unknown, reply: (answer: unknown) => void) {
    try {
      const next = await authenticate((input as { token?: unknown } | null)?.token);
      if (next.tenantId !== connection.actor.tenantId || next.userId !== connection.actor.userId) {
        throw new GatewayError('forbidden', 'A fresh token must be for the same person and tenant.');
      }
      connection.actor = next;
      scheduleReauth(connection);
      reply({ ok: true });
    } catch (error) {
      const refusal =
        error instanceof GatewayError ? error : new GatewayError('internal', 'Re-authentication failed.');
      reply({ ok: false, error: refusal.code, detail: refusal.message, ...refusal.extra });
    }
  }

  const wire = createWireServer<Actor>({
    pingIntervalMs: pingInterval,
    async authenticate(auth) {
      try {
        return await authenticate((auth as { token?: unknown } | null)?.token);
      } catch (error) {
        if (error instanceof GatewayError) throw new ConnectRefused(error.code, error.message);
        throw error;
      }
    },
    onConnect(socket) {
      const actor = socket.context as Actor;
      const connection: Connection = {
        socket,
        actor,
        channels: new Set(),
        replaying: new Map(),
        work: Promise.resolve(),
        pending: 0,
      };
      connections.set(socket.id, connection);
      const key = memberKey(actor.tenantId, actor.userId);
      const members = byMember.get(key) ?? new Set();
      members.add(connection);
      byMember.set(key, members);
      scheduleReauth(connection);
    },
    onEvent(socket, event, args, ack) {
      const connection = connections.get(socket.id);
      if (!connection) return;
      const reply = ack ?? (() => {});
      if (event === 'subscribe') queue(connection, reply, () => onSubscribe(connection, args[0], reply));
      else if (event === 'reauth') queue(connection, reply, () => onReauth(connection, args[0], reply));
      else if (event === 'unsubscribe') {
        const channel = (args[0] as { channel?: unknown } | null)?.channel;
        if (channel === ADMIN_AUDIT) adminAudit?.leave(connection.socket);
        else if (typeof channel === 'string' && Object.hasOwn(channelCatalog, channel))
          leave(connection, channel as Channel);
        reply({ ok: true });
      } else reply({ ok: false, error: 'unknown-event', detail: 'Events: subscribe, unsubscribe, reauth.' });
    },
    onClose(socket) {
      const connection = connections.get(socket.id);
      if (!connection) return;
      for (const channel of [...connection.channels]) leave(connection, channel);
      for (const channel of [...connection.replaying.keys()]) endReplay(connection, channel);
      adminAudit?.leave(connection.socket);
      if (connection.reauthTimer) clearTimeout(connection.reauthTimer);
      connections.delete(socket.id);
      const key = memberKey(connection.actor.tenantId, connection.actor.userId);
      const members = byMember.get(key);
      members?.delete(connection);
      if (members?.size === 0) byMember.delete(key);
    },
    onError: (error) => options.logger?.warn({ err: error }, 'realtime socket error'),
  });

  return {
    /** Upgrades `/socket.io/` WebSocket requests (and learns Bun's server for native publishing). */
    handleRequest: (request: Request, server: import('bun').Server<unknown>) =>
      wire.handleRequest(request, server),
    /** Bun.serve options the gateway needs: its WebSocket handlers, an idle timeout above the ping interval. */
    serveOptions() {
      return { websocket: wire.websocket, idleTimeout: Math.ceil(pingInterval / 1000) + 30 };
    },
    connectionCount: () => connections.size,
    async close() {
      unsubscribeBus();
      unsubscribeSignal?.();
      clearInterval(revalidation);
      for (const connection of connections.values()) {
        if (connection.reauthTimer) clearTimeout(connection.reauthTimer);
      }
      wire.close();
    },
  };
}

export type Gateway = ReturnType<typeof createGateway>;

function parseSubscribe(input: unknown): { channel: Channel | typeof ADMIN_AUDIT; after: number | null } {
  if (!input || typeof input !== 'object') throw new GatewayError('bad-request', 'Send {channel, after?}.');
  const { channel, after } = input as { channel?: unknown; after?: unknown };
  if (typeof channel !== 'string' || !(Object.hasOwn(channelCatalog, channel) || channel === ADMIN_AUDIT)) {
    throw new GatewayError(
      'unknown-channel',
      `Channels: ${Object.keys(channelCatalog).join(', ')} (and ${ADMIN_AUDIT} for platform admins).`,
    );
  }
  const known = channel as Channel | typeof ADMIN_AUDIT;
  if (after === undefined || after === null) return { channel: known, after: null };
  if (typeof after !== 'number' || !Number.isInteger(after) || after < 0 || after > MAX_SEQ) {
    throw new GatewayError(
      'bad-request',
      '`after` must be a whole number ≥ 0 (the last seq you have; on admin:audit, the last auditPosition).',
    );
  }
  return { channel: known, after };
}
