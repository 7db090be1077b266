import { connectRealtime, type RealtimeEvent } from '../../../../realtime/client.ts';
import { freshAccessToken } from '../api';
import type { LiveStatus } from '../realtime/realtime.svelte';
import type { AdminAuditEvent } from './api';

/** Whether the console is receiving `admin:audit`, and why not when it is refused. */
export type AdminAuditStatus = LiveStatus | 'refused';

/** An arrival on `admin:audit` is an `audit.recorded` event with its feed position. */
function isAdminAuditEvent(event: RealtimeEvent): event is RealtimeEvent & AdminAuditEvent {
  return event.type === 'audit.recorded' && typeof event.auditPosition === 'number';
}

/**
 * The console's own connection to `admin:audit` (the app's tenant connection follows tenant channels
 * only): opened by the live audit page after its entries were loaded, resuming `after` the feed head
 * they were read at, so nothing recorded since is missed and nothing loaded comes twice.
 */
export class AdminAuditFeed {
  status = $state<AdminAuditStatus>('reconnecting');
  #close: (() => void) | null = null;

  /** Follows the feed after `after`; `onGap`: too much was missed to replay, load the entries again. */
  open(options: { after: number; onEvent: (event: AdminAuditEvent) => void; onGap: () => void }): void {
    this.close();
    const client = connectRealtime({
      url: location.origin,
      token: () => freshAccessToken(),
      onStatus: (status) => {
        if (this.status === 'refused') return;
        this.status =
          status === 'connected'
            ? 'connected'
            : status === 'closed' || status === 'revoked'
              ? 'offline'
              : 'reconnecting';
      },
      onGap: () => options.onGap(),
    });
    let open = true;
    this.#close = () => {
      open = false;
      client.close();
    };
    void client
      .subscribe(
        'admin:audit',
        (event) => {
          if (open && isAdminAuditEvent(event)) options.onEvent(event);
        },
        {
          after: options.after,
          onRefused: () => {
            if (open) this.status = 'refused';
          },
        },
      )
      .then((answer) => {
        if (open && answer.ok) this.status = 'connected';
      });
  }

  close(): void {
    this.#close?.();
    this.#close = null;
  }
}
