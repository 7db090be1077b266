import { io, type Socket } from 'socket.io-client';
import type { ADMIN_AUDIT } from './admin-audit.ts';
import type { EventEnvelope, Channel as TenantChannel } from './events.ts';

/** A tenant channel, or `admin:audit` (platform admins: every tenant's audit entries). */
export type Channel = TenantChannel | typeof ADMIN_AUDIT;

/** An event as the gateway delivers it: the envelope and the channel it came on. */
export type RealtimeEvent = EventEnvelope & { channel: Channel };

/** Where an event stands in its channel: the tenant's seq, or on `admin:audit` the feed position. */
const positionOf = (event: RealtimeEvent) =>
  event.channel === 'admin:audit' ? (event.auditPosition ?? 0) : event.seq;

export type RealtimeStatus = 'connecting' | 'connected' | 'reconnecting' | 'revoked' | 'closed';

export interface RealtimeClientOptions {
  /** The API's origin, e.g. `https://app.example.com` (Socket.IO is at `/socket.io/` there). */
  url: string;
  /** An access token or API key, or a function answering a fresh one (called on connect and on `reauth`). */
  token: string | (() => string | Promise<string>);
  onStatus?: (status: RealtimeStatus, detail?: string) => void;
  /** Where the last seq per channel is kept between sessions (e.g. localStorage); memory by default. */
  seqStore?: { get(channel: Channel): number | undefined; set(channel: Channel, seq: number): void };
  /**
   * What was missed on `channel` can no longer be replayed (past the server's retention, or too far
   * behind): the client has already subscribed again from the current head; load the current state.
   */
  onGap?: (channel: Channel, answer: SubscribeAnswer) => void;
}

export interface SubscribeAnswer {
  ok: boolean;
  error?: string;
  detail?: string;
  replayed?: number;
  seq?: number;
  /** With `events-pruned`: the oldest seq still kept. */
  earliestSeq?: number;
}

/** Refusals that mean "the missed events cannot be replayed", not "you may not subscribe". */
const GAP_ERRORS = new Set(['events-pruned', 'too-far-behind']);

interface ChannelState {
  handlers: Set<(event: RealtimeEvent) => void>;
  lastSeq: number | undefined;
  onRefused?: (answer: SubscribeAnswer) => void;
  /** The answer to the latest `subscribe` sent for the channel. */
  answer?: Promise<SubscribeAnswer>;
}

/**
 * A Socket.IO client for Wrapper's channels, for the app and for Node/Bun dashboards. It remembers the
 * last seq seen per channel, subscribes again with `after` on every (re)connect so missed events are
 * replayed in order, drops anything it has already seen, and answers `reauth_required` with a fresh token.
 */
export function connectRealtime(options: RealtimeClientOptions) {
  const channels = new Map<Channel, ChannelState>();
  const freshToken = async () =>
    typeof options.token === 'function' ? await options.token() : options.token;
  let status: RealtimeStatus = 'connecting';
  const setStatus = (next: RealtimeStatus, detail?: string) => {
    status = next;
    options.onStatus?.(next, detail);
  };

  const socket: Socket = io(options.url, {
    path: '/socket.io/',
    // The gateway speaks Socket.IO over WebSockets only.
    transports: ['websocket'],
    auth: (callback) => {
      freshToken().then(
        (token) => callback({ token }),
        () => callback({ token: '' }),
      );
    },
    reconnectionDelay: 250,
    reconnectionDelayMax: 5000,
  });

  function lastSeqOf(channel: Channel): number | undefined {
    const state = channels.get(channel);
    return state?.lastSeq ?? options.seqStore?.get(channel);
  }

  function remember(channel: Channel, seq: number) {
    const state = channels.get(channel);
    if (state) state.lastSeq = seq;
    options.seqStore?.set(channel, seq);
  }

  function emitSubscribe(channel: Channel, after: number | undefined): Promise<SubscribeAnswer> {
    return new Promise((resolve) => {
      socket.emit('subscribe', after === undefined ? { channel } : { channel, after }, resolve);
    });
  }

  async function sendSubscribe(channel: Channel): Promise<SubscribeAnswer> {
    let answer = await emitSubscribe(channel, lastSeqOf(channel));
    if (!answer.ok && answer.error && GAP_ERRORS.has(answer.error)) {
      // Follow from now on, then say what was lost, so state loaded by the app misses nothing after it.
      const gap = answer;
      answer = await emitSubscribe(channel, undefined);
      if (answer.ok && typeof answer.seq === 'number') remember(channel, answer.seq);
      if (answer.ok) options.onGap?.(channel, gap);
    } else if (answer.ok && typeof answer.seq === 'number' && (lastSeqOf(channel) ?? 0) < answer.seq) {
      remember(channel, answer.seq);
    }
    if (!answer.ok) channels.get(channel)?.onRefused?.(answer);
    return answer;
  }

  socket.on('event', (event: RealtimeEvent) => {
    const state = channels.get(event.channel);
    if (!state) return;
    const last = lastSeqOf(event.channel);
    const position = positionOf(event);
    // Seen already (a replay overlapping what arrived live, or a node's redelivery).
    if (last !== undefined && position <= last) return;
    remember(event.channel, position);
    for (const handler of state.handlers) handler(event);
  });

  socket.on('connect', () => {
    setStatus('connected');
    for (const [channel, state] of channels) state.answer = sendSubscribe(channel);
  });
  socket.on('disconnect', (reason) => {
    if (reason === 'io client disconnect') setStatus('closed');
    else if (reason === 'io server disconnect') setStatus('revoked', reason);
    else setStatus('reconnecting', reason);
  });
  let retry: ReturnType<typeof setTimeout> | null = null;
  let retryDelay = 500;
  socket.on('connect_error', (error: Error & { data?: { code?: string; detail?: string } }) => {
    if (error.data?.code === 'unauthorized') {
      setStatus('revoked', error.data.detail ?? error.message);
      return;
    }
    setStatus('reconnecting', error.data?.detail ?? error.message);
    // A refusal the server sent (e.g. it could not check the token right now) is not retried by
    // Socket.IO itself, unlike a lost connection: try again, a little later each time.
    if (error.data && !retry) {
      retry = setTimeout(() => {
        retry = null;
        if (status !== 'closed') socket.connect();
      }, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 10_000);
    }
  });
  socket.on('connect', () => {
    retryDelay = 500;
  });
  socket.on('revoked', (info: { code?: string; reason?: string }) =>
    setStatus('revoked', info.reason ?? info.code),
  );
  socket.on('unsubscribed', (info: { channel: Channel; reason: string }) => {
    channels.get(info.channel)?.onRefused?.({ ok: false, error: info.reason });
  });
  socket.on('reauth_required', async () => {
    try {
      socket.emit('reauth', { token: await freshToken() }, () => {});
    } catch {
      // The server closes the socket when the grace period ends; reconnecting asks for a token again.
    }
  });

  return {
    socket,
    status: () => status,
    /**
     * Receives `channel`'s events. Resolves with the gateway's answer (`ok: false` with `error` when the
     * channel does not exist or the caller may not read it). `after` resumes from a known seq.
     */
    async subscribe(
      channel: Channel,
      handler: (event: RealtimeEvent) => void,
      subscribeOptions: { after?: number; onRefused?: (answer: SubscribeAnswer) => void } = {},
    ): Promise<SubscribeAnswer & { unsubscribe: () => void }> {
      const state: ChannelState = channels.get(channel) ?? { handlers: new Set(), lastSeq: undefined };
      if (subscribeOptions.after !== undefined) state.lastSeq = subscribeOptions.after;
      if (subscribeOptions.onRefused) state.onRefused = subscribeOptions.onRefused;
      state.handlers.add(handler);
      const first = !channels.has(channel);
      channels.set(channel, state);
      const unsubscribe = () => {
        state.handlers.delete(handler);
        if (state.handlers.size === 0) {
          channels.delete(channel);
          socket.emit('unsubscribe', { channel });
        }
      };
      if (!first && subscribeOptions.after === undefined) return { ok: true, unsubscribe };
      if (socket.connected) state.answer = sendSubscribe(channel);
      else await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      // On connect, the handler above has sent the subscription (it runs first).
      const answer = (await state.answer) ?? { ok: false, error: 'not-connected' };
      return { ...answer, unsubscribe };
    },
    lastSeq: lastSeqOf,
    close() {
      if (retry) clearTimeout(retry);
      socket.disconnect();
      setStatus('closed');
    },
  };
}

export type RealtimeClient = ReturnType<typeof connectRealtime>;
