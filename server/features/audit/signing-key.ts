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
export interface AuditSigner {
  /** First 16 hex digits of the SHA-256 of the public key (SPKI DER); every checkpoint names it. */
  keyId: string;
  publicKey: KeyObject;
  /** The public key as PEM (SPKI) and as a JWK (`{kty: 'OKP', crv: 'Ed25519', x}`). */
  publicKeyPem: string;
  publicJwk: { kty: string; crv: string; x: string };
  /** Signs a checkpoint's canonical payload (`checkpointPayload`); answers it with `signature`. */
  sign(checkpoint: Omit<AuditCheckpoint, 'signature' | 'keyId'>): AuditCheckpoint;
}

/** Reads the setting's text as an Ed25519 private key; throws with a reason that never echoes it. */
export function parseAuditSigningKey(text: string): KeyObject {
  const value = text.trim();
  let key: KeyObject;
  try {
    key = value.startsWith('-----BEGIN')
      ? createPrivateKey({ key: value.replaceAll('\\n', '\n'), format: 'pem' })
      : createPrivateKey({
          key: Buffer.from(value.replaceAll('-', '+').replaceAll('_', '/'), 'base64'),
          format: 'der',
          type: 'pkcs8',
        });
  } catch {
    throw new Error('not a private key (base64 of PKCS#8 DER, or PEM)');
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new Error(`an Ed25519 key is needed, not ${key.asymmetricKeyType ?? 'this kind of key'}`);
  }
  return key;
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

export function auditSigner(privateKey: KeyObject): AuditSigner {
  const publicKey = createPublicKey(privateKey);
  const keyId = keyIdOf(publicKey);
  const jwk = publicKey.export({ format: 'jwk' });
  return {
    keyId,
    publicKey,
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
export function loadAuditSigner(config: Pick<Config, 'AUDIT_SIGNING_KEY' | 'DATA_DIR'>): AuditSigner {
  if (config.AUDIT_SIGNING_KEY) return auditSigner(parseAuditSigningKey(config.AUDIT_SIGNING_KEY));
  mkdirSync(config.DATA_DIR, { recursive: true });
  const path = join(config.DATA_DIR, 'audit-signing.key');
  if (existsSync(path)) {
    const stored = readFileSync(path, 'utf8').trim();
    if (stored) return auditSigner(parseAuditSigningKey(stored));
  }
  const generated = generateAuditSigningKey();
  writeFileSync(path, `${generated}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return auditSigner(parseAuditSigningKey(generated));
}
