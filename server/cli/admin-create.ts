import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from '../../db/client.ts';
import { DataDirInUseError } from '../../db/data-dir-lock.ts';
import { parseConfig } from '../config.ts';
import { grantPlatformAdmin } from '../features/admin/grant.ts';
import { signOperatorToken } from '../features/admin/operator-token.ts';

/**
 * `bun run admin:create <email>`: makes an existing person a platform administrator. With the database
 * free it writes the flag itself; when a running server holds the embedded database, it asks that
 * server, proving it is the operator with a short token signed with the server's own secret.
 */
const email = Bun.argv[2]?.trim().toLowerCase();
if (!email) {
  console.error('usage: bun run admin:create <email>');
  process.exit(2);
}
const config = parseConfig(process.env);

async function direct(): Promise<boolean> {
  const database = await openDatabase({ url: config.DATABASE_URL, dataDir: config.DATA_DIR });
  try {
    return await grantPlatformAdmin(database, email as string);
  } finally {
    await database.close();
  }
}

/** The running server's secret: JWT_SECRET, or the one it generated into DATA_DIR (never made here). */
function serverSecret(): string {
  if (config.JWT_SECRET) return config.JWT_SECRET;
  const path = join(config.DATA_DIR, 'jwt.secret');
  if (!existsSync(path)) throw new Error(`no JWT_SECRET and no ${path}: is this the server's DATA_DIR?`);
  return readFileSync(path, 'utf8').trim();
}

async function throughServer(): Promise<boolean> {
  const host = ['0.0.0.0', '::', ''].includes(config.HOST) ? '127.0.0.1' : config.HOST;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${config.PORT}/v1/admin/operator/platform-admins`;
  const token = await signOperatorToken(serverSecret(), { platformAdminEmail: email as string });
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ email }),
  });
  if (response.status === 404) return false;
  if (!response.ok) {
    const problem = (await response.json().catch(() => ({}))) as { detail?: string; title?: string };
    throw new Error(
      `the server at ${url} answered ${response.status}: ${problem.detail ?? problem.title ?? ''}`,
    );
  }
  return true;
}

let granted: boolean;
try {
  granted = await direct();
} catch (error) {
  if (!(error instanceof DataDirInUseError)) throw error;
  console.log(`The server is running with ${config.DATA_DIR}; asking it (port ${config.PORT}).`);
  granted = await throughServer();
}
if (granted) console.log(`${email} is now a platform administrator.`);
else {
  console.error(`No account with the email ${email}; sign up first.`);
  process.exitCode = 1;
}
