import { type KeyObject, verify } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { AuditCheckpoint, AuditContent, AuditEntry } from './model.ts';

/**
 * The audit chain, shared by the server and the offline verifier (decision 0017):
 *   digest = SHA-256(RFC 8785 canonical JSON of the entry without seq and hash)
 *   hash   = SHA-256(previous hash ‖ seq as 8 bytes big-endian ‖ digest), the first previous hash being
 *            32 zero bytes.
 * Postgres computes `hash` under the tenant's head-row lock (append_audit_entry); the application
 * computes `digest`. A checkpoint is an Ed25519 signature over the canonical JSON of
 * {tenantId, seq, hash, signedAt, reason, keyId}.
 */
export const GENESIS_HASH = new Uint8Array(32);

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

export type ChainBreak =
  | 'hash-mismatch'
  | 'seq-gap'
  | 'wrong-tenant'
  | 'checkpoint-mismatch'
  | 'checkpoint-missing-entry'
  | 'checkpoint-signature-invalid';

export interface ChainVerdict {
  valid: boolean;
  /** Entries whose link was recomputed. */
  checked: number;
  firstBrokenId?: string;
  /** The seq where the chain first breaks (also for breaks with no entry to name, e.g. a missing tail). */
  firstBrokenSeq?: number;
  reason?: ChainBreak;
  /** The newest checkpoint the entries were checked against (null: none yet). */
  checkpoint: AuditCheckpoint | null;
}

export interface ChainVerifyOptions {
  tenantId: string;
  /** Signed chain heads, any order; only those whose signature verifies with `publicKey` are trusted. */
  checkpoints: readonly AuditCheckpoint[];
  /** The key the checkpoints must be signed with (an Ed25519 public key). */
  publicKey: KeyObject;
  /**
   * Where the entries start when older ones were pruned: the retention checkpoint at the cut (its hash
   * is the previous hash of the first entry). Without it, the first entry must be seq 1.
   */
  start?: { seq: number; hash: string };
}

export function checkpointSignatureValid(checkpoint: AuditCheckpoint, publicKey: KeyObject): boolean {
  try {
    return verify(
      null,
      checkpointPayload(checkpoint),
      publicKey,
      Buffer.from(checkpoint.signature, 'base64url'),
    );
  } catch {
    return false;
  }
}

/**
 * Walks one tenant's entries in seq order (`add` each, then `finish`), recomputing every link, and
 * checks them against the signed checkpoints: a changed, inserted or removed entry breaks a link or
 * leaves a gap; a re-hashed tail differs from the checkpoint at its seq; newest entries removed after
 * a checkpoint leave the checkpoint pointing past the end. Stops at the first break.
 */
export class ChainVerifier {
  private readonly checkpointsBySeq = new Map<number, AuditCheckpoint>();
  private readonly newest: AuditCheckpoint | null;
  private broken: Pick<ChainVerdict, 'firstBrokenId' | 'firstBrokenSeq' | 'reason'> | null = null;
  private previous: Uint8Array | null;
  private lastSeq: number | null;
  private checked = 0;

  constructor(private readonly options: ChainVerifyOptions) {
    let newest: AuditCheckpoint | null = null;
    for (const checkpoint of options.checkpoints) {
      if (checkpoint.tenantId !== options.tenantId) continue;
      if (!checkpointSignatureValid(checkpoint, options.publicKey)) {
        this.broken ??= { firstBrokenSeq: checkpoint.seq, reason: 'checkpoint-signature-invalid' };
        continue;
      }
      this.checkpointsBySeq.set(checkpoint.seq, checkpoint);
      if (!newest || checkpoint.seq > newest.seq) newest = checkpoint;
    }
    this.newest = newest;
    this.previous = options.start ? fromHex(options.start.hash) : null;
    this.lastSeq = options.start ? options.start.seq : null;
  }

  /** False once the chain is broken (the caller may stop reading). */
  add(entry: AuditEntry): boolean {
    if (this.broken) return false;
    if (this.lastSeq === null) {
      // No start given: the chain must begin at seq 1, or right after a signed checkpoint (pruned log).
      const cut = this.checkpointsBySeq.get(entry.seq - 1);
      if (entry.seq === 1) this.previous = GENESIS_HASH;
      else if (cut) this.previous = fromHex(cut.hash);
      else return this.fail(entry, 1, 'seq-gap');
      this.lastSeq = entry.seq - 1;
    }
    const expected = this.lastSeq + 1;
    if (entry.tenantId !== this.options.tenantId) return this.fail(entry, entry.seq, 'wrong-tenant');
    if (entry.seq !== expected) return this.fail(entry, expected, 'seq-gap');
    const link = chainLink(this.previous as Uint8Array, entry.seq, entryDigest(entry));
    const hash = toHex(link);
    this.checked += 1;
    if (hash !== entry.hash) return this.fail(entry, entry.seq, 'hash-mismatch');
    const checkpoint = this.checkpointsBySeq.get(entry.seq);
    if (checkpoint && checkpoint.hash !== hash) return this.fail(entry, entry.seq, 'checkpoint-mismatch');
    this.previous = link;
    this.lastSeq = entry.seq;
    return true;
  }

  finish(): ChainVerdict {
    const last = this.lastSeq ?? 0;
    if (!this.broken && this.newest && this.newest.seq > last) {
      this.broken = { firstBrokenSeq: last + 1, reason: 'checkpoint-missing-entry' };
    }
    return {
      valid: this.broken === null,
      checked: this.checked,
      ...(this.broken ?? {}),
      checkpoint: this.newest,
    };
  }

  private fail(entry: AuditEntry, seq: number, reason: ChainBreak): false {
    this.broken = { firstBrokenId: entry.id, firstBrokenSeq: seq, reason };
    return false;
  }
}
