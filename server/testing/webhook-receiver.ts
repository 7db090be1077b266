import { Webhook } from 'standardwebhooks';

/** One request a receiver got, as it arrived, and whether each secret given verifies it. */
export interface ReceivedWebhook {
  id: string;
  timestamp: string;
  signature: string;
  host: string | null;
  body: string;
  /** The envelope, parsed. */
  event: { id: string; seq: number; type: string; tenantId: string; data: Record<string, unknown> };
  /** Per secret the receiver was told about: did the spec's own verifier accept the request? */
  verifiedWith: Record<string, boolean>;
  receivedAt: number;
}

/** What the receiver answers a request with: a Response, or one built from the request. */
export type Responder = (
  request: Request,
  received: ReceivedWebhook,
  index: number,
) => Response | Promise<Response>;

/**
 * A CRM's webhook endpoint on loopback: real HTTP, each request verified with the `standardwebhooks`
 * package (the Standard Webhooks spec's own library) against every secret it knows, answered by a
 * responder the test sets (204 by default).
 */
export function startWebhookReceiver(options: { respond?: Responder } = {}) {
  const received: ReceivedWebhook[] = [];
  const secrets = new Set<string>();
  let respond: Responder = options.respond ?? (() => new Response(null, { status: 204 }));
  const waiters: Array<{ check: () => boolean; resolve: () => void }> = [];

  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(request) {
      const body = await request.text();
      const headers = Object.fromEntries(request.headers);
      const verifiedWith: Record<string, boolean> = {};
      for (const secret of secrets) {
        try {
          new Webhook(secret).verify(body, headers);
          verifiedWith[secret] = true;
        } catch {
          verifiedWith[secret] = false;
        }
      }
      const entry: ReceivedWebhook = {
        id: request.headers.get('webhook-id') ?? '',
        timestamp: request.headers.get('webhook-timestamp') ?? '',
        signature: request.headers.get('webhook-signature') ?? '',
        host: request.headers.get('host'),
        body,
        event: JSON.parse(body),
        verifiedWith,
        receivedAt: Date.now(),
      };
      received.push(entry);
      const answer = await respond(request, entry, received.length - 1);
      for (const waiter of [...waiters]) {
        if (waiter.check()) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      }
      return answer;
    },
  });

  return {
    url: `http://127.0.0.1:${server.port}`,
    port: server.port as number,
    received,
    /** Verify later requests with this secret too. */
    trust(secret: string) {
      secrets.add(secret);
    },
    respondWith(responder: Responder) {
      respond = responder;
    },
    /** Resolves once `check` holds after a request (or at once), failing after `timeoutMs`. */
    until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
      if (check()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`receiver: no ${what} within ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({
          check,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    },
    stop: () => server.stop(true),
  };
}

export type WebhookReceiver = ReturnType<typeof startWebhookReceiver>;
