import { describe, expect, test } from 'bun:test';
import { generateKeyPairSync } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, parseConfig } from '../../config.ts';
import { tempDir } from '../../testing/audit.ts';
import { generateAuditSigningKey, loadAuditSigner, parseAuditSigningKey } from './signing-key.ts';

function problemsOf(env: Record<string, string>): string[] {
  try {
    parseConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

const JWT_SECRET = 'a-jwt-secret-that-is-long-enough-0123456789';

describe('the audit signing key', () => {
  test('is required in production, and a bad one is refused without being echoed', () => {
    expect(problemsOf({ NODE_ENV: 'production', JWT_SECRET })).toEqual([
      expect.stringMatching(/^AUDIT_SIGNING_KEY: required when NODE_ENV=production/),
    ]);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 })
      .privateKey.export({ type: 'pkcs8', format: 'der' })
      .toString('base64');
    const [wrongKind] = problemsOf({ AUDIT_SIGNING_KEY: rsa });
    expect(wrongKind).toContain('an Ed25519 key is needed');
    const garbage = 'not-a-key-but-long-enough-to-pass-the-length-check-0123456789';
    const [unreadable] = problemsOf({ AUDIT_SIGNING_KEY: garbage });
    expect(unreadable).toStartWith('AUDIT_SIGNING_KEY: not a private key');
    expect(unreadable).not.toContain(garbage);
    expect(
      problemsOf({ NODE_ENV: 'production', JWT_SECRET, AUDIT_SIGNING_KEY: generateAuditSigningKey() }),
    ).toEqual([]);
  });

  test('base64 of PKCS#8 DER, base64url, or PEM with \\n line breaks: the same key', () => {
    const der = generateAuditSigningKey();
    const key = parseAuditSigningKey(der);
    const pem = key.export({ type: 'pkcs8', format: 'pem' }).toString().trim().replaceAll('\n', '\\n');
    const base64url = der.replaceAll('+', '-').replaceAll('/', '_').replaceAll('=', '');
    for (const form of [pem, base64url]) {
      expect(parseAuditSigningKey(form).export({ type: 'pkcs8', format: 'der' }).toString('base64')).toBe(
        der,
      );
    }
  });

  test('unset outside production, one is generated into DATA_DIR (0600) and kept across restarts', () => {
    const dir = tempDir();
    const first = loadAuditSigner({ DATA_DIR: dir, AUDIT_PREVIOUS_PUBLIC_KEYS: '' });
    expect(statSync(join(dir, 'audit-signing.key')).mode & 0o777).toBe(0o600);
    expect(loadAuditSigner({ DATA_DIR: dir, AUDIT_PREVIOUS_PUBLIC_KEYS: '' }).keyId).toBe(first.keyId);
    expect(first.keyId).toMatch(/^[0-9a-f]{16}$/);
  });
});
