import { untrack } from 'svelte';
import { type Channel, type RealtimeEvent, realtime } from './realtime.svelte';

export interface LiveEventsOptions {
  /**
   * The seq the page's data was loaded at (`realtime.lastSeq(channel)` read in `load` before fetching), or
   * `undefined` if the channel was not live then. Read reactively: new data starts a new list of events.
   */
  loadedAt: () => number | undefined;
  /** Loads the page's data again (e.g. `invalidate('app:organizations')`). */
  reload: () => unknown;
}

/**
 * The events of `channel` that arrived after the page's data was loaded, for the page to fold over that data.
 * Call it while a component initialises. Data loaded before the channel went live may miss what happened
 * in between, so it is loaded once more as soon as the channel is live.
 */
export function liveEvents(
  channel: Channel,
  options: LiveEventsOptions,
): { readonly events: RealtimeEvent[] } {
  let log = $state.raw<RealtimeEvent[]>([]);

  $effect(() => {
    const loadedAt = options.loadedAt();
    log = [];
    return realtime.subscribe(
      channel,
      (event) => {
        log = [...untrack(() => log), event];
      },
      // Events that arrived while the data was loading are handed over first.
      { replayAfter: loadedAt ?? 0 },
    );
  });

  $effect(() => {
    if (options.loadedAt() === undefined && realtime.isLive(channel)) untrack(() => void options.reload());
  });

  return {
    get events() {
      const loadedAt = options.loadedAt() ?? 0;
      return log.filter((event) => event.seq > loadedAt);
    },
  };
}
