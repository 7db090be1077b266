import { createHmac, randomBytes } from 'node:crypto';

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): a secret is `whsec_` + base64 of its key
 * bytes; a signature is `v1,` + base64 of HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>"),
 * and `webhook-signature` lists one per live secret, space-separated, while a rotation is in its grace
 * period. Written here rather than taken from the spec's library so the tests, which verify with that
 * library, check an independent implementation.
 */

const SECRET_PREFIX = 'whsec_';
/** Key bytes of a new secret (the spec allows 24 to 64). */
const SECRET_BYTES = 32;

export function newWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(SECRET_BYTES).toString('base64');
}

function keyOf(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) throw new Error('a webhook secret starts with whsec_');
  return Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
}

export function signature(secret: string, id: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', keyOf(secret)).update(`${id}.${timestamp}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/** The `webhook-*` headers of one attempt, signed with every secret given (newest first). */
export function signedHeaders(
  secrets: readonly string[],
  id: string,
  timestamp: number,
  body: string,
): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': secrets.map((secret) => signature(secret, id, timestamp, body)).join(' '),
  };
}
