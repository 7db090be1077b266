// Types only: the catalog's runtime (TypeBox schemas) stays on the server.
import { channelCatalog } from '../../../../realtime/channels.ts';
import {
  type Channel,
  connectRealtime,
  type RealtimeClient,
  type RealtimeEvent,
  type RealtimeStatus,
  type SubscribeAnswer,
} from '../../../../realtime/client.ts';
import { readAccessTokenClaims } from '../access-token';
import { freshAccessToken, getTenantSettings, type Tenant, type TenantSettings } from '../api';
import { isEventOf, newerTenantSettings } from './apply';

export type { Channel, RealtimeEvent, SubscribeAnswer };

/** What the header's indicator shows: whether live updates are arriving. */
export type LiveStatus = 'connected' | 'reconnecting' | 'offline';

export type RealtimeHandler = (event: RealtimeEvent) => void;

export interface RealtimeSession {
  tenantId: string;
  userId: string;
  /** The person's tenant-wide permissions: which channels to follow. */
  permissions: readonly string[];
  /**
   * The server ended the connection: the membership or session ended, or the token could not be renewed.
   * The app checks the session (sign-in again if it ended) and then calls {@link Realtime.reconnect}.
   */
  onRevoked?: (reason: string | undefined) => void;
  /** A channel was refused or taken away: the person's permissions changed since the identity was loaded. */
  onRefused?: (channel: Channel, answer: SubscribeAnswer) => void;
  /** A channel had to start again from now (too far behind to replay): what pages loaded may miss events. */
  onGap?: (channel: Channel) => void;
}

/** What reading each channel needs (tenant-wide): channels the person may not read are not asked for. */
const channelPermissions = Object.fromEntries(
  Object.entries(channelCatalog).map(([channel, { permission }]) => [channel, permission]),
) as Record<Channel, string | null>;

/** The channels the app follows for as long as it is open (when the person may read them). */
const followedChannels: readonly Channel[] = ['tenant', 'organizations', 'membership'];

/** Recent events kept per channel, for a page that loaded just before they arrived. */
const RECENT_EVENTS = 500;
/** How long reconnecting may last before the indicator says offline. */
const OFFLINE_AFTER_MS = 10_000;

/**
 * The app's realtime connection: one per signed-in tab, for one person in one tenant. It follows the
 * tenant, organizations and membership channels the person may read (resuming by seq across reconnects),
 * keeps recent events so a page can catch up from the seq its data was loaded at, and tracks the tenant's
 * settings as they change. Pages use {@link Realtime.subscribe} in an `$effect`.
 */
export class Realtime {
  /** Whether live updates are arriving. */
  status = $state<LiveStatus>('offline');
  /** The tenant's settings as last changed live (`tenant.updated`); see {@link Realtime.tenantSettings}. */
  #tenant = $state.raw<TenantSettings | null>(null);
  /** Channels whose subscription the gateway accepted (and has not taken away since). */
  #live = $state<Partial<Record<Channel, true>>>({});

  #session: RealtimeSession | null = null;
  #client: RealtimeClient | null = null;
  /** The last seq seen per channel (this tenant's): where a subscription resumes after a reconnect. */
  #seqs = new Map<Channel, number>();
  #recent = new Map<Channel, RealtimeEvent[]>();
  /** Pages' handlers; they outlive a connection (a tenant switch keeps the page). */
  #handlers = new Map<Channel, Set<RealtimeHandler>>();
  /**
   * Channels subscribed on the current connection: each resolves, once the gateway answered, with how to
   * drop that subscription. A new subscription of a channel waits for the one before (and drops it).
   */
  #attached = new Map<Channel, Promise<(() => void) | null>>();
  /** The one handler the connection calls for every channel. */
  #dispatchHandler: RealtimeHandler = () => {};
  #refused = new Set<Channel>();
  #permissions = new Set<string>();
  /** The connection was revoked and the app has been told; waiting for {@link Realtime.reconnect}. */
  #revoked = false;
  #revocations: number[] = [];
  /** Since when no connection is up (for how long "reconnecting" is shown before "offline"). */
  #downSince: number | null = null;
  #offlineTimer: ReturnType<typeof setTimeout> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #stopWatchingNetwork: (() => void) | null = null;

  /** Connects for this person in this tenant; does nothing if already connected for them. */
  open(session: RealtimeSession): void {
    if (
      this.#session &&
      this.#session.tenantId === session.tenantId &&
      this.#session.userId === session.userId
    ) {
      this.#session = session;
      this.allow(session.permissions);
      return;
    }
    this.close();
    this.#session = session;
    this.#permissions = new Set(session.permissions);
    const seqs = new Map<Channel, number>();
    this.#seqs = seqs;
    const client = connectRealtime({
      url: location.origin,
      token: () => this.#tokenFor(session),
      onStatus: (status, detail) => {
        if (this.#client === client) this.#onStatus(status, detail);
      },
      seqStore: { get: (channel) => seqs.get(channel), set: (channel, seq) => seqs.set(channel, seq) },
      // More was missed than can be replayed (too far behind, or past the retention): the client follows
      // from now on; the pages load again.
      onGap: (channel) => {
        if (this.#client === client) this.#session?.onGap?.(channel);
      },
    });
    this.#client = client;
    this.#dispatchHandler = (event) => {
      if (this.#client === client) this.#dispatch(event);
    };
    this.#setStatus('reconnecting');
    this.#watchNetwork();
    this.#attachAll();
  }

  /** Disconnects (signing out, switching tenant); pages' handlers stay for the next connection. */
  close(): void {
    const client = this.#client;
    this.#client = null;
    this.#session = null;
    client?.close();
    this.#attached.clear();
    this.#refused.clear();
    this.#recent.clear();
    this.#seqs = new Map();
    this.#live = {};
    this.#tenant = null;
    this.#revoked = false;
    this.#revocations = [];
    this.#dispatchHandler = () => {};
    clearTimeout(this.#offlineTimer);
    this.#offlineTimer = undefined;
    clearTimeout(this.#retryTimer);
    this.#stopWatchingNetwork?.();
    this.#stopWatchingNetwork = null;
    this.#downSince = null;
    this.status = 'offline';
  }

  /**
   * After a revocation the app found the session still good (a token that lapsed while the tab slept, a
   * server that restarted): connects again, resuming every channel, after a pause that grows if it repeats.
   */
  reconnect(): void {
    const client = this.#client;
    if (!client || !this.#revoked) return;
    this.#revoked = false;
    const now = Date.now();
    this.#revocations = [...this.#revocations.filter((at) => now - at < 5 * 60_000), now];
    this.#retryLater(client, Math.min(60_000, 500 * 2 ** (this.#revocations.length - 1)));
  }

  /** The person's permissions changed: follows channels that are now allowed, again if they were refused. */
  allow(permissions: readonly string[]): void {
    const next = new Set(permissions);
    const changed =
      next.size !== this.#permissions.size ||
      [...next].some((permission) => !this.#permissions.has(permission));
    this.#permissions = next;
    if (!changed) return;
    for (const channel of [...this.#refused]) if (this.#mayRead(channel)) this.#attach(channel);
    this.#attachAll();
  }

  /**
   * Calls `handler` with `channel`'s events until the returned function is called (an `$effect`'s cleanup).
   * With `replayAfter`, recent events after that seq are handed over first: a page passes the seq its data
   * was loaded at (0 if it was loaded before the channel was live).
   */
  subscribe(channel: Channel, handler: RealtimeHandler, options: { replayAfter?: number } = {}): () => void {
    const handlers = this.#handlers.get(channel) ?? new Set();
    handlers.add(handler);
    this.#handlers.set(channel, handlers);
    if (options.replayAfter !== undefined) {
      const after = options.replayAfter;
      for (const event of this.#recent.get(channel) ?? []) {
        if (event.seq > after) callSafely(handler, event);
      }
    }
    if (!this.#attached.has(channel) && !this.#refused.has(channel) && this.#mayRead(channel)) {
      this.#attach(channel);
    }
    return () => {
      handlers.delete(handler);
      if (handlers.size === 0 && this.#handlers.get(channel) === handlers) this.#handlers.delete(channel);
    };
  }

  /**
   * The seq up to which `channel`'s events have all been received, for a `load` to record before it fetches:
   * whatever its data lacks arrives as an event after that seq. `undefined` while the channel is not live.
   */
  lastSeq(channel: Channel): number | undefined {
    return this.#live[channel] ? (this.#seqs.get(channel) ?? 0) : undefined;
  }

  /** Whether the gateway is sending `channel`'s events (reactive). */
  isLive(channel: Channel): boolean {
    return this.#live[channel] === true;
  }

  /** The newer of the loaded tenant settings and the last ones that changed live (reactive). */
  tenantSettings(loaded: TenantSettings | null | undefined): TenantSettings | null {
    return newerTenantSettings(loaded, this.#tenant);
  }

  /** The tenant as the header and pages show it: the loaded identity's, renamed live if it was (reactive). */
  tenantOf(data: { identity: { tenant: Tenant }; tenantSettings?: TenantSettings | null }): {
    id: string;
    name: string;
    settings: TenantSettings | null;
  } {
    const { tenant } = data.identity;
    const live = this.#tenant?.id === tenant.id ? this.#tenant : null;
    const settings = newerTenantSettings(data.tenantSettings, live);
    return { id: tenant.id, name: settings?.name ?? tenant.name, settings };
  }

  async #tokenFor(session: RealtimeSession): Promise<string> {
    const token = await freshAccessToken();
    // The tokens are shared by every tab: after a switch elsewhere they may be another tenant's. Sending
    // none gets the connection refused, and the app reloads the identity (and reconnects for that tenant).
    const claims = readAccessTokenClaims(token);
    if (claims && (claims.tenantId !== session.tenantId || claims.userId !== session.userId)) {
      throw new Error('the stored session is for another tenant');
    }
    return token;
  }

  #mayRead(channel: Channel): boolean {
    const permission = channelPermissions[channel];
    return permission === null || this.#permissions.has(permission);
  }

  /** Subscribes the followed channels and those pages listen to, where allowed and not subscribed yet. */
  #attachAll(): void {
    for (const channel of new Set([...followedChannels, ...this.#handlers.keys()])) {
      if (!this.#attached.has(channel) && !this.#refused.has(channel) && this.#mayRead(channel)) {
        this.#attach(channel);
      }
    }
  }

  /**
   * Subscribes `channel` on the connection, resuming after its last seq if there is one. A subscription the
   * gateway refused earlier is dropped first, so that the new one is sent.
   */
  #attach(channel: Channel): void {
    const client = this.#client;
    if (!client) return;
    this.#refused.delete(channel);
    const previous = this.#attached.get(channel) ?? Promise.resolve(null);
    const next = previous.then(async (dropPrevious) => {
      if (this.#client !== client) return null;
      dropPrevious?.();
      const resumed = this.#seqs.has(channel);
      const answer = await client.subscribe(channel, this.#dispatchHandler, {
        onRefused: (refusal) => this.#onRefused(client, channel, refusal),
      });
      if (this.#client === client && answer.ok) this.#onLive(channel, resumed);
      return answer.unsubscribe;
    });
    this.#attached.set(
      channel,
      next.catch(() => null),
    );
  }

  #onLive(channel: Channel, resumed: boolean): void {
    this.#live[channel] = true;
    // A first subscription starts at the tenant's head: a change made between the layout's load and now
    // would be in neither. Reading the settings once more closes that gap.
    if (channel === 'tenant' && !resumed) {
      const client = this.#client;
      getTenantSettings().then(
        (settings) => {
          if (this.#client === client) this.#offerTenant(settings);
        },
        () => {},
      );
    }
  }

  #onRefused(client: RealtimeClient, channel: Channel, answer: SubscribeAnswer): void {
    if (this.#client !== client) return;
    delete this.#live[channel];
    this.#refused.add(channel);
    this.#session?.onRefused?.(channel, answer);
  }

  #dispatch(event: RealtimeEvent): void {
    const recent = this.#recent.get(event.channel) ?? [];
    recent.push(event);
    if (recent.length > RECENT_EVENTS) recent.splice(0, recent.length - RECENT_EVENTS);
    this.#recent.set(event.channel, recent);
    if (isEventOf(event, 'tenant.updated')) this.#offerTenant(event.data.tenant);
    for (const handler of [...(this.#handlers.get(event.channel) ?? [])]) callSafely(handler, event);
  }

  #offerTenant(settings: TenantSettings): void {
    if (settings.id !== this.#session?.tenantId) return;
    this.#tenant = newerTenantSettings(this.#tenant, settings) === settings ? settings : this.#tenant;
  }

  #onStatus(status: RealtimeStatus, detail: string | undefined): void {
    const client = this.#client;
    if (!client) return;
    if (status === 'connected') {
      // Every channel (refused ones too) is subscribed again by the client, resuming after its last seq.
      this.#setStatus('connected');
    } else if (status === 'connecting' || status === 'reconnecting') {
      this.#setStatus('reconnecting');
      // A handshake the gateway could not check (its database unreachable, say) is not retried by
      // Socket.IO itself, unlike a dropped connection.
      if (!client.socket.active) this.#retryLater(client, 2000);
    } else if (status === 'closed') {
      this.#setStatus('offline');
    } else if (detail === 'io server disconnect') {
      // Closed by the server: after a revocation it told just before (handled already); otherwise the
      // socket is not reconnected by Socket.IO itself, so it is here.
      if (this.#revoked) return;
      this.#setStatus('reconnecting');
      this.#retryLater(client, 1000);
    } else {
      // `revoked` with a reason (the membership, session or token ended), or a refused handshake.
      this.#setStatus('offline');
      if (this.#revoked) return;
      this.#revoked = true;
      clearTimeout(this.#retryTimer);
      this.#session?.onRevoked?.(detail);
    }
  }

  #retryLater(client: RealtimeClient, delayMs: number): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => {
      if (this.#client === client && !client.socket.connected && !client.socket.active)
        client.socket.connect();
    }, delayMs);
  }

  #setStatus(next: LiveStatus): void {
    if (next === 'connected') {
      this.#downSince = null;
      clearTimeout(this.#offlineTimer);
      this.#offlineTimer = undefined;
      this.status = 'connected';
      return;
    }
    this.#downSince ??= Date.now();
    const downFor = Date.now() - this.#downSince;
    const networkDown = typeof navigator !== 'undefined' && navigator.onLine === false;
    if (next === 'offline' || networkDown || downFor >= OFFLINE_AFTER_MS) {
      this.status = 'offline';
      return;
    }
    // A first connection or a short drop shows as reconnecting; a long one as offline.
    this.status = 'reconnecting';
    this.#offlineTimer ??= setTimeout(() => {
      this.#offlineTimer = undefined;
      if (this.status === 'reconnecting') this.status = 'offline';
    }, OFFLINE_AFTER_MS - downFor);
  }

  #watchNetwork(): void {
    if (typeof window === 'undefined') return;
    const update = () => {
      if (this.#client && !this.#client.socket.connected && !this.#revoked) this.#setStatus('reconnecting');
    };
    window.addEventListener('online', update);
    window.addEventListener('offline', update);
    this.#stopWatchingNetwork = () => {
      window.removeEventListener('online', update);
      window.removeEventListener('offline', update);
    };
  }
}

function callSafely(handler: RealtimeHandler, event: RealtimeEvent): void {
  try {
    handler(event);
  } catch (error) {
    // One page's failing handler must not keep the event from the others.
    console.error('realtime handler failed', error);
  }
}

/** The app's one realtime connection. */
export const realtime = new Realtime();
