import { checkServerIdentity } from 'node:tls';
import { resolveTarget, type TargetPolicy, TargetRefused } from './targets.ts';

/** What one HTTP attempt of a delivery came to. */
export interface AttemptResult {
  ok: boolean;
  statusCode: number | null;
  /** Null on success. */
  errorClass: AttemptErrorClass | null;
  error: string | null;
  /** The start of the answer's body (at most `RESPONSE_EXCERPT_BYTES`), as text. */
  excerpt: string | null;
  durationMs: number;
  /** A 429 or 503 answer's `Retry-After`, in seconds. */
  retryAfterSeconds: number | null;
}

export type AttemptErrorClass =
  | 'http-status'
  | 'redirect'
  | 'timeout'
  | 'connection'
  | 'tls'
  | 'dns'
  | 'blocked-address';

/** How much of an answer is read: the rest is never downloaded. */
export const RESPONSE_EXCERPT_BYTES = 4096;
const USER_AGENT = 'Wrapper-Webhooks/1';

/**
 * Sends one signed message: resolves the host and checks the addresses (`resolveTarget`), connects to
 * the checked address itself with the URL's Host and TLS server name, never follows a redirect, stops
 * at `timeoutMs` (connection to the last byte read) and reads at most 4 KB of the answer. Never throws.
 */
export async function sendMessage(input: {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  policy: TargetPolicy;
  /** The runtime stopping: the attempt ends as a timeout would. */
  signal?: AbortSignal;
}): Promise<AttemptResult> {
  const started = performance.now();
  const url = new URL(input.url);
  const timeout = AbortSignal.timeout(input.timeoutMs);
  const signal = input.signal ? AbortSignal.any([timeout, input.signal]) : timeout;
  const done = (result: Omit<AttemptResult, 'durationMs'>): AttemptResult => ({
    ...result,
    durationMs: Math.round(performance.now() - started),
  });
  try {
    const address = await resolveTarget(url, input.policy);
    const direct = new URL(url);
    direct.hostname = address.includes(':') ? `[${address}]` : address;
    const tls = url.protocol === 'https:';
    const response = await fetch(direct, {
      method: 'POST',
      headers: {
        ...input.headers,
        host: url.host,
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
      },
      body: input.body,
      redirect: 'manual',
      signal,
      // A pooled TLS connection is keyed by address: reusing one opened for another host name on the
      // same address would send this request under that name's certificate.
      keepalive: !tls,
      ...(tls
        ? {
            tls: {
              serverName: url.hostname,
              checkServerIdentity: (_: string, cert: Parameters<typeof checkServerIdentity>[1]) =>
                checkServerIdentity(url.hostname, cert),
            },
          }
        : {}),
    });
    const excerpt = await readExcerpt(response);
    const statusCode = response.status;
    if (statusCode >= 200 && statusCode < 300) {
      return done({ ok: true, statusCode, errorClass: null, error: null, excerpt, retryAfterSeconds: null });
    }
    const redirect = statusCode >= 300 && statusCode < 400;
    return done({
      ok: false,
      statusCode,
      errorClass: redirect ? 'redirect' : 'http-status',
      error: redirect
        ? `answered ${statusCode} to ${response.headers.get('location') ?? '(no location)'}; redirects are not followed`
        : `answered ${statusCode}`,
      excerpt,
      retryAfterSeconds:
        statusCode === 429 || statusCode === 503
          ? retryAfterSeconds(response.headers.get('retry-after'))
          : null,
    });
  } catch (error) {
    const failure = classify(error, timeout);
    return done({ ok: false, statusCode: null, excerpt: null, retryAfterSeconds: null, ...failure });
  }
}

/** Reads the body up to the excerpt's size, then drops the connection's rest. */
async function readExcerpt(response: Response): Promise<string | null> {
  if (!response.body) return null;
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < RESPONSE_EXCERPT_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const bytes = Buffer.concat(chunks).subarray(0, RESPONSE_EXCERPT_BYTES);
  return bytes.length === 0 ? null : new TextDecoder().decode(bytes);
}

/** `Retry-After` as seconds from now: delta-seconds or an HTTP date; null when absent or unreadable. */
export function retryAfterSeconds(header: string | null, now = Date.now()): number | null {
  if (!header) return null;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

function classify(error: unknown, timeout: AbortSignal): { errorClass: AttemptErrorClass; error: string } {
  if (error instanceof TargetRefused) return { errorClass: error.errorClass, error: error.message };
  const message = (error instanceof Error ? error.message : String(error)).slice(0, 500);
  if (timeout.aborted) return { errorClass: 'timeout', error: 'no complete answer in time' };
  const code = String((error as { code?: unknown }).code ?? '');
  if (/CERT|SSL|TLS|certificate|self.signed/i.test(`${code} ${message}`))
    return { errorClass: 'tls', error: message };
  return { errorClass: 'connection', error: code ? `${code}: ${message}` : message };
}
