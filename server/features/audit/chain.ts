import { createHash, type KeyObject, verify } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { AuditCheckpoint, AuditContent, AuditEntry } from './model.ts';

/**
 * The audit chain, shared by the server and the offline verifier (decision 0017):
 *   digest = SHA-256(RFC 8785 canonical JSON of the entry without seq and hash)
 *   hash   = SHA-256(previous hash ‖ seq as 8 bytes big-endian ‖ digest), the first previous hash being
 *            32 zero bytes.
 * Postgres computes `hash` under the tenant's head-row lock (append_audit_entry); the application
 * computes `digest`. A checkpoint is an Ed25519 signature over the canonical JSON of
 * {tenantId, seq, hash, signedAt, reason, keyId}. Nothing here touches the server or its database, so
 * `server/cli/audit-verify.ts` runs it on an export alone.
 */
export const GENESIS_HASH = new Uint8Array(32);

/** The message of the log line every checkpoint is published with (stable: log searches rely on it). */
export const CHECKPOINT_LOG_MESSAGE = 'audit checkpoint';

export function canonical(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new Error('the value has no canonical JSON form');
  return text;
}

const sha256 = (...parts: Uint8Array[]) => {
  const hasher = new Bun.CryptoHasher('sha256');
  for (const part of parts) hasher.update(part);
  return new Uint8Array(hasher.digest());
};

/** The fields the digest covers, in a fixed shape (whatever else a row or an export line carries). */
export function contentOf(entry: AuditContent): AuditContent {
  return {
    id: entry.id,
    tenantId: entry.tenantId,
    occurredAt: entry.occurredAt,
    action: entry.action,
    actor: entry.actor,
    targets: entry.targets,
    context: entry.context,
    changes: entry.changes,
    metadata: entry.metadata,
    outcome: entry.outcome,
  };
}

export function entryDigest(entry: AuditContent): Uint8Array {
  return sha256(new TextEncoder().encode(canonical(contentOf(entry))));
}

export function chainLink(previous: Uint8Array, seq: number, digest: Uint8Array): Uint8Array {
  const position = new Uint8Array(8);
  new DataView(position.buffer).setBigUint64(0, BigInt(seq));
  return sha256(previous, position, digest);
}

export const toHex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
export const fromHex = (hex: string) => new Uint8Array(Buffer.from(hex, 'hex'));

/** The bytes a checkpoint's signature covers. */
export function checkpointPayload(checkpoint: Omit<AuditCheckpoint, 'signature'>): Uint8Array {
  const { tenantId, seq, hash, signedAt, reason, keyId } = checkpoint;
  return new TextEncoder().encode(canonical({ tenantId, seq, hash, signedAt, reason, keyId }));
}

/**
 * The id of a signing key: the first 16 hex digits of the SHA-256 of its public key (SPKI DER). Every
 * checkpoint names the key that signed it, so a verifier holding several public keys (after a rotation)
 * knows which one to use.
 */
export function keyIdOf(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
}

export type ChainBreak =
  /** An entry's recomputed link differs from its stored hash: it was changed, forged, or moved. */
  | 'hash-mismatch'
  /**
   * An entry sits one seq later than it was written, right after one that chains correctly: that one was
   * inserted (forged) before it, and the later entries renumbered.
   */
  | 'entry-inserted'
  /** A seq is missing: an entry in the middle was removed (or the first ones, without a retention cut). */
  | 'seq-gap'
  /** A seq came again or went back (an export with a line inserted or repeated). */
  | 'seq-out-of-order'
  | 'wrong-tenant'
  /** A line of an export is not an audit entry. */
  | 'malformed-entry'
  /** The chain is consistent, but not with a signed checkpoint at that seq: it was re-hashed. */
  | 'checkpoint-mismatch'
  /** A signed checkpoint names a seq past the last entry: the newest entries were removed. */
  | 'checkpoint-missing-entry'
  /** A checkpoint's signature does not verify with any known key: it was forged or altered. */
  | 'checkpoint-signature-invalid'
  /** The chain head row (server only) disagrees with the last entry: entries were removed at the end. */
  | 'head-mismatch';

export interface ChainVerdict {
  valid: boolean;
  /** Entries whose link was recomputed. */
  checked: number;
  firstBrokenId?: string;
  /** The seq where the chain first breaks (also for breaks with no entry to name, e.g. a missing tail). */
  firstBrokenSeq?: number;
  reason?: ChainBreak;
  /**
   * The highest seq whose hash matched a signed checkpoint: every entry up to it is exactly as signed.
   * Entries after it are only consistent with each other until the next checkpoint signs them.
   */
  attestedThroughSeq: number | null;
  /** Entries before this seq were pruned by retention (a signed retention checkpoint at seq − 1). */
  startSeq: number | null;
  /** The newest checkpoint the entries were checked against (null: none yet). */
  checkpoint: AuditCheckpoint | null;
}

export interface ChainVerifyOptions {
  tenantId: string;
  /** Signed chain heads, any order; only those whose signature verifies with a known key are trusted. */
  checkpoints: readonly AuditCheckpoint[];
  /** The keys checkpoints may be signed with (Ed25519 public keys; the current one and any older ones). */
  publicKey: KeyObject | readonly KeyObject[];
  /**
   * Where the entries start when older ones were pruned: the retention checkpoint at the cut (its hash
   * is the previous hash of the first entry). Without it, the first entry must be seq 1 or follow a
   * signed retention checkpoint.
   */
  start?: { seq: number; hash: string };
  /** The chain head as the database holds it (`audit_chain_heads`): the last entry must match it. */
  head?: { seq: number; hash: string } | null;
}

const HASH = /^[0-9a-f]{64}$/;

export function checkpointSignatureValid(
  checkpoint: AuditCheckpoint,
  publicKey: KeyObject | readonly KeyObject[],
): boolean {
  const keys = Array.isArray(publicKey) ? publicKey : [publicKey as KeyObject];
  const key = keys.find((candidate) => keyIdOf(candidate) === checkpoint.keyId);
  if (!key || !HASH.test(checkpoint.hash) || !Number.isSafeInteger(checkpoint.seq)) return false;
  try {
    return verify(null, checkpointPayload(checkpoint), key, Buffer.from(checkpoint.signature, 'base64url'));
  } catch {
    return false;
  }
}

/**
 * Walks one tenant's entries in seq order (`add` each, then `finish`), recomputing every link, and
 * checks them against the signed checkpoints: a changed, inserted or removed entry breaks a link or
 * leaves a gap; a re-hashed tail differs from the checkpoint at its seq; newest entries removed after
 * a checkpoint leave the checkpoint pointing past the end. Stops at the first break. Memory: the
 * checkpoints (seq → hash), never the entries.
 */
export class ChainVerifier {
  private readonly checkpointsBySeq = new Map<number, AuditCheckpoint>();
  private readonly newest: AuditCheckpoint | null;
  private broken: Pick<ChainVerdict, 'firstBrokenId' | 'firstBrokenSeq' | 'reason'> | null = null;
  private previous: Uint8Array | null;
  /** The link before `previous`, and the id of the entry `previous` belongs to (to name an insertion). */
  private beforePrevious: Uint8Array | null = null;
  private previousId: string | null = null;
  private lastSeq: number | null;
  private startSeq: number | null = null;
  private attested: number | null = null;
  private checked = 0;

  constructor(private readonly options: ChainVerifyOptions) {
    let newest: AuditCheckpoint | null = null;
    let forged: AuditCheckpoint | null = null;
    for (const checkpoint of options.checkpoints) {
      if (checkpoint.tenantId !== options.tenantId) continue;
      if (!checkpointSignatureValid(checkpoint, options.publicKey)) {
        if (!forged || checkpoint.seq < forged.seq) forged = checkpoint;
        continue;
      }
      // Two valid checkpoints at one seq (two keys) must agree; the first one counts, the other is
      // compared when its entry passes.
      const same = this.checkpointsBySeq.get(checkpoint.seq);
      if (same && same.hash !== checkpoint.hash) {
        this.broken ??= { firstBrokenSeq: checkpoint.seq, reason: 'checkpoint-mismatch' };
      }
      if (!same || checkpoint.reason === 'retention') this.checkpointsBySeq.set(checkpoint.seq, checkpoint);
      if (!newest || checkpoint.seq > newest.seq) newest = checkpoint;
    }
    if (forged) this.broken ??= { firstBrokenSeq: forged.seq, reason: 'checkpoint-signature-invalid' };
    this.newest = newest;
    this.previous = options.start ? fromHex(options.start.hash) : null;
    this.lastSeq = options.start ? options.start.seq : null;
    if (options.start) this.startSeq = options.start.seq + 1;
  }

  /** False once the chain is broken (the caller may stop reading). */
  add(entry: AuditEntry): boolean {
    if (this.broken) return false;
    if (entry.tenantId !== this.options.tenantId) return this.fail(entry, entry.seq, 'wrong-tenant');
    if (this.lastSeq === null) {
      // No start given: the chain must begin at seq 1, or right after a signed retention checkpoint (the
      // cut below which entries were pruned). Any other first seq means the oldest entries were removed.
      const cut = this.checkpointsBySeq.get(entry.seq - 1);
      if (entry.seq === 1) this.previous = GENESIS_HASH;
      else if (cut?.reason === 'retention') this.previous = fromHex(cut.hash);
      else return this.fail(entry, 1, 'seq-gap');
      this.lastSeq = entry.seq - 1;
      this.startSeq = entry.seq;
      if (cut) this.attested = cut.seq;
    }
    const expected = this.lastSeq + 1;
    if (entry.seq < expected) return this.fail(entry, entry.seq, 'seq-out-of-order');
    if (entry.seq > expected) return this.fail(entry, expected, 'seq-gap');
    const link = chainLink(this.previous as Uint8Array, entry.seq, entryDigest(entry));
    const hash = toHex(link);
    this.checked += 1;
    const checkpoint = this.checkpointsBySeq.get(entry.seq);
    // A re-hashed tail: the stored hash is what the tamperer recomputed, and agrees with the content;
    // only the signature says the chain used to be otherwise.
    if (checkpoint && checkpoint.hash !== hash) {
      return this.fail(entry, entry.seq, hash === entry.hash ? 'checkpoint-mismatch' : 'hash-mismatch');
    }
    if (hash !== entry.hash) {
      // Written one seq earlier, after the entry before the previous one? Then the previous one was slid
      // in between (its own link may well be right: the formula is public, only checkpoints are signed).
      const digest = entryDigest(entry);
      if (this.beforePrevious && this.previousId && entry.seq > 1) {
        if (toHex(chainLink(this.beforePrevious, entry.seq - 1, digest)) === entry.hash) {
          this.broken = {
            firstBrokenId: this.previousId,
            firstBrokenSeq: entry.seq - 1,
            reason: 'entry-inserted',
          };
          return false;
        }
      }
      return this.fail(entry, entry.seq, 'hash-mismatch');
    }
    if (checkpoint) this.attested = entry.seq;
    this.beforePrevious = this.previous;
    this.previousId = entry.id;
    this.previous = link;
    this.lastSeq = entry.seq;
    return true;
  }

  finish(): ChainVerdict {
    if (!this.broken && this.lastSeq === null) {
      // No entry at all: every one may have been pruned; what is left starts after the newest cut.
      let cut: AuditCheckpoint | null = null;
      for (const checkpoint of this.checkpointsBySeq.values()) {
        if (checkpoint.reason === 'retention' && (!cut || checkpoint.seq > cut.seq)) cut = checkpoint;
      }
      if (cut) {
        this.lastSeq = cut.seq;
        this.previous = fromHex(cut.hash);
        this.startSeq = cut.seq + 1;
        this.attested = cut.seq;
      }
    }
    const last = this.lastSeq ?? 0;
    if (!this.broken && this.newest && this.newest.seq > last) {
      this.broken = { firstBrokenSeq: last + 1, reason: 'checkpoint-missing-entry' };
    }
    const head = this.options.head;
    if (!this.broken && head !== undefined) {
      const headSeq = head?.seq ?? 0;
      const lastHash = this.previous ? toHex(this.previous) : null;
      if (headSeq !== last || (head && head.hash !== lastHash)) {
        this.broken = { firstBrokenSeq: Math.min(headSeq, last) + 1, reason: 'head-mismatch' };
      }
    }
    return {
      valid: this.broken === null,
      checked: this.checked,
      ...(this.broken ?? {}),
      attestedThroughSeq: this.attested,
      startSeq: this.startSeq,
      checkpoint: this.newest,
    };
  }

  /** Records a break found outside the walk (an export line that is not an entry). */
  failAt(seq: number, reason: ChainBreak, id?: string): void {
    this.broken ??= { ...(id ? { firstBrokenId: id } : {}), firstBrokenSeq: seq, reason };
  }

  private fail(entry: AuditEntry, seq: number, reason: ChainBreak): false {
    this.broken = { firstBrokenId: entry.id, firstBrokenSeq: seq, reason };
    return false;
  }
}
