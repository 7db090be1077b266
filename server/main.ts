import { DataDirInUseError } from '../db/data-dir-lock.ts';
import { type Config, ConfigError, parseConfig, parseOidcProviders } from './config.ts';
import { createLogger, flushLogger } from './logger.ts';
import { createRuntime, type Runtime } from './runtime.ts';

function fail(message: string): never {
  console.error(`wrapper: cannot start.\n${message}`);
  process.exit(1);
}

let config: Config;
let oidcProviders: ReturnType<typeof parseOidcProviders>;
try {
  config = parseConfig(process.env);
  oidcProviders = parseOidcProviders(process.env, config.OIDC_PROVIDERS);
} catch (error) {
  if (error instanceof ConfigError) fail(`${error.message}\nSee .env.example for every setting.`);
  throw error;
}

const logger = createLogger(config);
const embedded = !config.DATABASE_URL;
logger.info(
  {
    mode: embedded ? 'embedded' : 'services',
    database: embedded ? `pglite (${config.DATA_DIR})` : 'postgres',
    bus: config.REDIS_URL ? 'redis' : 'in-process',
  },
  embedded
    ? `Wrapper starting on the embedded default: PGlite in ${config.DATA_DIR}, in-process event bus, no services needed`
    : 'Wrapper starting with Postgres (DATABASE_URL)',
);

let runtime: Runtime;
try {
  runtime = await createRuntime(config, oidcProviders, { logger });
} catch (error) {
  if (error instanceof ConfigError) fail(`${error.message}\nSee .env.example for every setting.`);
  if (error instanceof DataDirInUseError) fail(error.message);
  const reason = error instanceof Error ? error.message : String(error);
  fail(`The database could not be opened${embedded ? '' : ' at DATABASE_URL'}: ${reason}`);
}
let url: string;
try {
  url = await runtime.start();
} catch (error) {
  await runtime.stop();
  const reason = error instanceof Error ? error.message : String(error);
  fail(
    `Cannot listen on ${config.HOST}:${config.PORT}: ${reason}. Is another process using the port? Set PORT.`,
  );
}
logger.info(
  { url, accessCache: runtime.accessCacheStore?.kind ?? 'off', bus: runtime.bus.kind },
  'Wrapper is listening',
);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down');
  await runtime.stop();
  flushLogger(logger);
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
