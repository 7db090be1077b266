import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../../config.ts';
import { checkpointPayload, keyIdOf } from './chain.ts';
import type { AuditCheckpoint } from './model.ts';

/**
 * The key that signs audit checkpoints (decision 0017). `AUDIT_SIGNING_KEY` holds an Ed25519 private
 * key in one line: base64 (or base64url) of its PKCS#8 DER, e.g.
 * `openssl genpkey -algorithm ed25519 -outform DER | base64 -w0`; a PEM is accepted too, its line breaks
 * written as `\n`. Unset outside production, one is generated into `DATA_DIR/audit-signing.key`
 * (mode 0600) and kept across restarts.
 */
/** A public key that verifies checkpoints, with the id they name it by. */
export interface AuditVerifyKey {
  keyId: string;
  publicKey: KeyObject;
  publicKeyPem: string;
}

export interface AuditSigner {
  /** First 16 hex digits of the SHA-256 of the public key (SPKI DER); every checkpoint names it. */
  keyId: string;
  publicKey: KeyObject;
  /** The public key as PEM (SPKI) and as a JWK (`{kty: 'OKP', crv: 'Ed25519', x}`). */
  publicKeyPem: string;
  publicJwk: { kty: string; crv: string; x: string };
  /** Public keys of earlier signing keys (AUDIT_PREVIOUS_PUBLIC_KEYS): their checkpoints still count. */
  previousKeys: AuditVerifyKey[];
  /** Every key a checkpoint of this deployment may be signed with: the current one first. */
  verifyKeys: KeyObject[];
  /** Signs a checkpoint's canonical payload (`checkpointPayload`); answers it with `signature`. */
  sign(checkpoint: Omit<AuditCheckpoint, 'signature' | 'keyId'>): AuditCheckpoint;
}

/**
 * An Ed25519 key from one line of a setting: PEM (with `\n` for its line breaks) or base64 (url-safe
 * too) of DER — PKCS#8 for a private key, SPKI for a public one. Throws with `what`, never the value.
 */
function readEd25519(text: string, kind: 'private' | 'public', what: string): KeyObject {
  const value = text.trim();
  let key: KeyObject;
  try {
    const pem = value.startsWith('-----BEGIN') ? value.replaceAll('\\n', '\n') : null;
    const der = Buffer.from(value.replaceAll('-', '+').replaceAll('_', '/'), 'base64');
    if (kind === 'private') {
      key = createPrivateKey(pem ? { key: pem, format: 'pem' } : { key: der, format: 'der', type: 'pkcs8' });
    } else {
      key = createPublicKey(pem ? { key: pem, format: 'pem' } : { key: der, format: 'der', type: 'spki' });
    }
  } catch {
    throw new Error(
      `${what}not a ${kind} key (base64 of ${kind === 'private' ? 'PKCS#8' : 'SPKI'} DER, or PEM)`,
    );
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new Error(`${what}an Ed25519 key is needed, not ${key.asymmetricKeyType ?? 'this kind of key'}`);
  }
  return key;
}

/** Reads the setting's text as an Ed25519 private key; throws with a reason that never echoes it. */
export function parseAuditSigningKey(text: string): KeyObject {
  return readEd25519(text, 'private', '');
}

/** What is wrong with the setting's value, or null (for the configuration's list of problems). */
export function auditSigningKeyProblem(text: string): string | null {
  try {
    parseAuditSigningKey(text);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

/** A new Ed25519 private key in the setting's format (base64 of PKCS#8 DER). */
export function generateAuditSigningKey(): string {
  const { privateKey } = generateKeyPairSync('ed25519');
  return privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64');
}

/** Reads AUDIT_PREVIOUS_PUBLIC_KEYS: comma-separated Ed25519 public keys (base64 SPKI DER, or PEM). */
export function parseAuditPublicKeys(list: string): AuditVerifyKey[] {
  return list
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
    .map((item, index) => {
      const key = readEd25519(item, 'public', `key ${index + 1}: `);
      return {
        keyId: keyIdOf(key),
        publicKey: key,
        publicKeyPem: key.export({ type: 'spki', format: 'pem' }).toString(),
      };
    });
}

export function auditPublicKeysProblem(list: string): string | null {
  try {
    parseAuditPublicKeys(list);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

export function auditSigner(privateKey: KeyObject, previousKeys: AuditVerifyKey[] = []): AuditSigner {
  const publicKey = createPublicKey(privateKey);
  const keyId = keyIdOf(publicKey);
  const jwk = publicKey.export({ format: 'jwk' });
  const previous = previousKeys.filter((key) => key.keyId !== keyId);
  return {
    keyId,
    publicKey,
    previousKeys: previous,
    verifyKeys: [publicKey, ...previous.map((key) => key.publicKey)],
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    publicJwk: { kty: String(jwk.kty), crv: String(jwk.crv), x: String(jwk.x) },
    sign(unsigned) {
      const checkpoint = { ...unsigned, keyId };
      const signature = sign(null, checkpointPayload(checkpoint), privateKey).toString('base64url');
      return { ...checkpoint, signature };
    },
  };
}

/**
 * The signer of this process: `AUDIT_SIGNING_KEY`, or (outside production, where the configuration
 * requires the setting) a key generated once into `DATA_DIR`.
 */
export function loadAuditSigner(
  config: Pick<Config, 'AUDIT_SIGNING_KEY' | 'AUDIT_PREVIOUS_PUBLIC_KEYS' | 'DATA_DIR'>,
): AuditSigner {
  const previous = parseAuditPublicKeys(config.AUDIT_PREVIOUS_PUBLIC_KEYS);
  if (config.AUDIT_SIGNING_KEY) return auditSigner(parseAuditSigningKey(config.AUDIT_SIGNING_KEY), previous);
  mkdirSync(config.DATA_DIR, { recursive: true });
  const path = join(config.DATA_DIR, 'audit-signing.key');
  if (existsSync(path)) {
    const stored = readFileSync(path, 'utf8').trim();
    if (stored) return auditSigner(parseAuditSigningKey(stored), previous);
  }
  const generated = generateAuditSigningKey();
  writeFileSync(path, `${generated}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return auditSigner(parseAuditSigningKey(generated), previous);
}
