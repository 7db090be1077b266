import type { RealtimeEvent } from './apply';

export interface TestEventOptions {
  /** The channel an event of `type` goes out on. */
  channelOf: (type: string) => string;
  actor?: RealtimeEvent['actor'];
  /** When the event numbered `seq` happened. */
  occurredAt?: (seq: number) => string;
  /** The seq the first event follows. */
  startAfter?: number;
}

/**
 * For unit tests: a maker of realtime events of tenant `tenant-1`, numbered on from `startAfter` (`seq`, and
 * the id `event-<seq>`) as a page receives them.
 */
export function testEvents({
  channelOf,
  actor = { type: 'user', id: 'owner-1' },
  occurredAt = () => '2025-06-15T12:00:00.000Z',
  startAfter = 0,
}: TestEventOptions) {
  let seq = startAfter;
  return (type: string, data: Record<string, unknown>): RealtimeEvent => {
    seq += 1;
    return {
      id: `event-${seq}`,
      seq,
      type,
      version: 1,
      tenantId: 'tenant-1',
      occurredAt: occurredAt(seq),
      actor,
      data,
      channel: channelOf(type),
    } as RealtimeEvent;
  };
}
