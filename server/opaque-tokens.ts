/**
 * Opaque bearer secrets: a readable prefix (`rt_`, `wr_`, `inv_`, `ev_`, `pr_`) and 256 random bits.
 * They are stored as SHA-256 hashes: with that much entropy a fast hash is enough, and a leaked table
 * yields no usable secret.
 */
export function newOpaqueToken(prefix: string): { token: string; hash: string } {
  const token = prefix + Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url');
  return { token, hash: hashOpaqueToken(token) };
}

export function hashOpaqueToken(token: string): string {
  return new Bun.CryptoHasher('sha256').update(token).digest('hex');
}
