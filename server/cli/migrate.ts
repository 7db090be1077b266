import { openDatabase } from '../../db/client.ts';
import { parseConfig } from '../config.ts';

/** `bun run db:migrate`: applies pending migrations to DATABASE_URL, or to the embedded database in DATA_DIR. */
const config = parseConfig(process.env);
const database = await openDatabase({ url: config.DATABASE_URL, dataDir: config.DATA_DIR, migrate: true });
console.log(
  `Migrations applied (${database.kind}${database.kind === 'pglite' ? `, ${config.DATA_DIR}` : ''}).`,
);
await database.close();
