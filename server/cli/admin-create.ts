import { openDatabase } from '../../db/client.ts';
import { parseConfig } from '../config.ts';
import { grantPlatformAdmin } from '../features/admin/grant.ts';

/** `bun run admin:create <email>`: makes an existing person a platform administrator. */
const email = Bun.argv[2]?.trim().toLowerCase();
if (!email) {
  console.error('usage: bun run admin:create <email>');
  process.exit(2);
}
const config = parseConfig(process.env);
const database = await openDatabase({ url: config.DATABASE_URL, dataDir: config.DATA_DIR });
try {
  if (await grantPlatformAdmin(database, email)) console.log(`${email} is now a platform administrator.`);
  else {
    console.error(`No account with the email ${email}; sign up first.`);
    process.exitCode = 1;
  }
} finally {
  await database.close();
}
