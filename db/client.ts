import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { type Query, type SQL, sql } from 'drizzle-orm';
import type { WithCacheConfig } from 'drizzle-orm/cache/core/types';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import {
  PgDialect,
  type PgPreparedQuery,
  type PreparedQueryConfig,
  type SelectedFieldsOrdered,
} from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres, PostgresJsDatabase, PostgresJsSession } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import {
  createTableRelationsHelpers,
  type ExtractTablesWithRelations,
  extractTablesRelationalConfig,
  type RelationalSchemaConfig,
} from 'drizzle-orm/relations';
import postgres from 'postgres';
import { lockDataDir } from './data-dir-lock.ts';
import * as schema from './schema/index.ts';

export type Schema = typeof schema;
/** A Drizzle handle scoped to one request's transaction (role + tenant already set). */
export type ScopedDb = PgDatabase<PgQueryResultHKT, Schema>;

/** The database roles requests (and the event relay) run as. All are non-owners without BYPASSRLS. */
export type RequestRole = 'app_user' | 'app_identity' | 'app_admin' | 'app_relay' | 'app_audit';

export interface RequestContext {
  role: RequestRole;
  tenantId?: string;
  userId?: string;
  /** The session behind the caller's token; an ended session fails the access check. */
  sessionId?: string;
  /** The API key the request was made with; a revoked or expired key, or one without the scope, fails. */
  apiKeyId?: string;
  /**
   * When set, `require_access` runs first in the transaction: the caller must be an active member (and
   * hold `permission` when it is not null, tenant-wide or on `organizationId` or an ancestor).
   */
  access?: { permission: string | null; organizationId?: string };
  /** When the credential stops working by itself (an API key's expiry), in ms; bounds a remembered pass. */
  credentialExpiresAt?: number;
}

/** A Drizzle query that has been built but not run (select, insert, update, delete builders). */
export interface Statement<T> {
  execute(): Promise<T>;
}

/** A Drizzle query with `sql.placeholder(...)` values, turned into a prepared query once. */
export interface Preparable<T> {
  prepare(name: string): { execute(values?: Record<string, unknown>): Promise<T> };
}

/**
 * A hot single statement whose SQL is built once per database instead of once per request (building
 * and mapping through Drizzle's builders is about half of a simple request's CPU). Values are passed
 * as `sql.placeholder(name)` at run time.
 */
export interface DefinedStatement<Values extends Record<string, unknown>, Result> {
  readonly name: string;
  readonly build: (db: ScopedDb) => Preparable<Result>;
  /** The statement may publish events (`publish_event()`): its commit wakes the relay. */
  readonly publishes?: boolean;
  /** Type-level only: the placeholder values the statement takes. */
  readonly values?: Values;
}

export function defineStatement<Values extends Record<string, unknown>, Result>(
  name: string,
  build: (db: ScopedDb) => Preparable<Result>,
  options: { publishes?: boolean } = {},
): DefinedStatement<Values, Result> {
  if (!/^[a-z][a-z0-9_]{0,62}$/.test(name)) throw new Error(`statement names are snake_case: ${name}`);
  return { name, build, publishes: options.publishes ?? false };
}

// Transactions that published events (marked by `publish`): once one commits, the engine tells its
// `onEventsCommitted` listeners (the relay) in this process, with no NOTIFY inside the transaction (a
// NOTIFY holds a cluster-wide lock through the commit's WAL flush and serialises every such commit).
const publishedIn = new WeakSet<object>();

/** Marks the transaction of `db` as one that published events. */
export function markPublished(db: ScopedDb): void {
  publishedIn.add(db);
}

/**
 * Runs `steps` (statements of one transaction) one after another, in this order; answers their results
 * in order and fails with the first failure. (Sending them at once is not safe: a Drizzle query is sent
 * when it is awaited, after work of its own, so two issued together may reach Postgres swapped — a
 * `set_config` then applied after the statement that needed it.)
 */
export async function inOrder<T extends readonly unknown[]>(
  ...steps: { [K in keyof T]: () => PromiseLike<T[K]> | false | undefined }
): Promise<T> {
  const results: unknown[] = [];
  for (const step of steps) results.push(await step());
  return results as unknown as T;
}

/** Listeners of one engine for committed transactions that published events. */
function eventsCommittedSignal() {
  const listeners = new Set<(tenantId: string) => void>();
  return {
    on(listener: (tenantId: string) => void): () => void {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    emit(context: RequestContext): void {
      if (!context.tenantId) return;
      for (const listener of listeners) listener(context.tenantId);
    },
  };
}

export const migrationsFolder = resolve(import.meta.dir, 'migrations');

export interface Database {
  readonly kind: 'pglite' | 'postgres';
  /** Runs `fn` in one transaction as `context.role`, with `app.tenant_id` / `app.user_id` set. */
  transaction<T>(context: RequestContext, fn: (db: ScopedDb) => Promise<T>): Promise<T>;
  /**
   * Runs one statement built by `build` in such a transaction. On Postgres, BEGIN, the context, the
   * statement and COMMIT leave in a single write: one round trip for the whole request.
   */
  statement<T>(context: RequestContext, build: (db: ScopedDb) => Statement<T>): Promise<T>;
  /** `statement` for a `defineStatement`: the same single round trip, without rebuilding the SQL. */
  run<Values extends Record<string, unknown>, Result>(
    context: RequestContext,
    statement: DefinedStatement<Values, Result>,
    values: Values,
  ): Promise<Result>;
  /**
   * Runs only the access check of `context` (which must carry `access`): for routes that reach no
   * tenant data through a request transaction but must still refuse an ended session or key.
   */
  checkAccess(context: RequestContext): Promise<void>;
  /** Owner-level access for migrations, health checks and tests; never for request data. */
  readonly owner: ScopedDb;
  /**
   * Access in these tenants changed (committed): checks remembered before must not count any more
   * (`db/access-cache.ts`). Without an access cache there is nothing to forget.
   */
  invalidateAccess(tenantIds: readonly string[]): Promise<void>;
  /**
   * `listener` gets the tenant of every transaction of this process that published events, once it has
   * committed (the relay moves them at once). Answers a function that stops listening.
   */
  onEventsCommitted(listener: (tenantId: string) => void): () => void;
  /**
   * LISTEN on `channel`: `onNotify` gets each payload NOTIFYed by a committed transaction. A reconnect
   * can miss notifications: listeners must also poll. Answers a function that stops listening.
   */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** Postgres URL; when absent, embedded PGlite in `dataDir`. */
  url?: string;
  dataDir: string;
  poolMax?: number;
  /** Apply pending migrations before returning. @default true */
  migrate?: boolean;
  /** PGlite only: keep the data in memory (tests). @default false */
  inMemory?: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const roles: ReadonlySet<string> = new Set<RequestRole>([
  'app_user',
  'app_identity',
  'app_admin',
  'app_relay',
  'app_audit',
]);

function checkContext(context: RequestContext): void {
  // Defence in depth: values reach Postgres as bind parameters, but a malformed id is a bug upstream.
  if (!roles.has(context.role)) throw new Error(`unknown request role ${String(context.role)}`);
  for (const value of [
    context.tenantId,
    context.userId,
    context.sessionId,
    context.apiKeyId,
    context.access?.organizationId,
  ]) {
    if (value !== undefined && !UUID.test(value)) throw new Error('request context ids must be UUIDs');
  }
}

/** The settings a request transaction starts with, in one statement; `require_access` reads them. */
const CONTEXT_SETTINGS = [
  'role',
  'app.tenant_id',
  'app.user_id',
  'app.session_id',
  'app.api_key_id',
] as const;
const contextValues = (context: RequestContext): string[] => [
  context.role,
  context.tenantId ?? '',
  context.userId ?? '',
  context.sessionId ?? '',
  context.apiKeyId ?? '',
];
const CONTEXT_SQL = `select ${CONTEXT_SETTINGS.map((name, index) => `set_config('${name}', $${index + 1}, true)`).join(', ')}`;
const ACCESS_SQL = 'select require_access($1::text, $2::uuid)';
const accessValues = (access: NonNullable<RequestContext['access']>) => [
  access.permission,
  access.organizationId ?? null,
];

/** The same two statements for Drizzle (PGlite), values bound as parameters. */
const contextStatement = (context: RequestContext): SQL => {
  const values = contextValues(context);
  const settings = CONTEXT_SETTINGS.map((name, index) => sql`set_config(${name}, ${values[index]}, true)`);
  return sql`select ${sql.join(settings, sql`, `)}`;
};
const accessStatement = (access: NonNullable<RequestContext['access']>): SQL =>
  sql`select require_access(${access.permission}::text, ${access.organizationId ?? null}::uuid)`;

export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  return options.url ? openPostgres(options.url, options) : openPglite(options);
}

async function openPglite(options: OpenDatabaseOptions): Promise<Database> {
  const lock = options.inMemory ? null : lockDataDir(options.dataDir);
  try {
    const client = options.inMemory ? new PGlite() : new PGlite(join(resolve(options.dataDir), 'pglite'));
    await client.waitReady;
    const db = drizzlePglite(client, { schema });
    if (options.migrate !== false) await migratePglite(db, { migrationsFolder });
    const committed = eventsCommittedSignal();
    const transaction: Database['transaction'] = async (context, fn) => {
      checkContext(context);
      let scoped: object | null = null;
      // PGlite is one connection as a superuser; SET LOCAL ROLE (via set_config) makes RLS apply.
      const result = await db.transaction(async (tx) => {
        scoped = tx;
        // Through `tx`: PGlite serialises its one connection, so the base client would wait for this very
        // transaction to end.
        await tx.execute(contextStatement(context));
        if (context.access) await tx.execute(accessStatement(context.access));
        return fn(tx);
      });
      if (scoped && publishedIn.has(scoped)) committed.emit(context);
      return result;
    };
    return {
      kind: 'pglite',
      owner: db,
      invalidateAccess: async () => {},
      onEventsCommitted: committed.on,
      listen: (channel, onNotify) => client.listen(channel, onNotify),
      transaction,
      checkAccess: (context) => transaction(context, async () => {}),
      statement: (context, build) => transaction(context, (tx) => build(tx).execute()),
      // One connection in process: building per call costs little here.
      run: (context, statement, values) =>
        transaction(context, (tx) => {
          if (statement.publishes) markPublished(tx);
          return statement.build(tx).prepare(statement.name).execute(values);
        }),
      async ping() {
        await client.query('select 1');
      },
      async close() {
        await client.close();
        lock?.release();
      },
    };
  } catch (error) {
    lock?.release();
    throw error;
  }
}

type RelationalTables = ExtractTablesWithRelations<Schema>;

/**
 * Drizzle sends queries unnamed, so postgres.js must Describe each parameterised one in an extra round
 * trip before running it, which also breaks pipelining. Naming every query makes postgres.js prepare it
 * once per connection and send Bind/Execute straight away: one round trip, pipelined behind the context.
 */
class PreparedStatementSession extends PostgresJsSession<postgres.Sql, Schema, RelationalTables> {
  override prepareQuery<T extends PreparedQueryConfig = PreparedQueryConfig>(
    query: Query,
    fields: SelectedFieldsOrdered | undefined,
    name: string | undefined,
    isResponseInArrayMode: boolean,
    customResultMapper?: (rows: unknown[][]) => T['execute'],
    queryMetadata?: { type: 'select' | 'update' | 'delete' | 'insert'; tables: string[] },
    cacheConfig?: WithCacheConfig,
  ): PgPreparedQuery<T> {
    return super.prepareQuery<T>(
      query,
      fields,
      name ?? 'prepared',
      isResponseInArrayMode,
      customResultMapper,
      queryMetadata,
      cacheConfig,
    );
  }
}

async function openPostgres(url: string, options: OpenDatabaseOptions): Promise<Database> {
  const ownerClient = postgres(url, { max: 2, onnotice: () => {} });
  const owner = drizzlePostgres(ownerClient, { schema });
  if (options.migrate !== false) await migrateWithLock(ownerClient, owner);

  // Request connections log in with `role=app_user` as a startup parameter: should the per-transaction
  // context ever fail to apply, queries run unprivileged and see nothing, never as the owner.
  const requestClient = postgres(url, {
    max: options.poolMax ?? 20,
    connection: { role: 'app_user', application_name: 'wrapper' },
    onnotice: () => {},
  });
  drizzlePostgres(requestClient); // installs drizzle's type parsers on this client
  const dialect = new PgDialect();
  const tables = extractTablesRelationalConfig<ExtractTablesWithRelations<Schema>>(
    schema,
    createTableRelationsHelpers,
  );
  const relational: RelationalSchemaConfig<ExtractTablesWithRelations<Schema>> = {
    fullSchema: schema,
    schema: tables.tables,
    tableNamesMap: tables.tableNamesMap,
  };

  const scopedTo = (client: postgres.Sql): ScopedDb =>
    new PostgresJsDatabase(
      dialect,
      new PreparedStatementSession(client, dialect, relational, {}),
      relational,
    );

  /**
   * Queues BEGIN and the context on a reserved connection, in this order, before anything else.
   * `execute()` queues a postgres.js query now; awaiting it would queue it a microtask later, after
   * statements the caller issues synchronously.
   */
  function openContext(connection: postgres.ReservedSql, context: RequestContext): Promise<unknown> {
    // Unprepared, postgres.js would Describe each of these in a round trip of its own on every request.
    const queued = [
      connection.unsafe('begin').execute(),
      connection.unsafe(CONTEXT_SQL, contextValues(context), { prepare: true }).execute(),
    ];
    if (context.access) {
      queued.push(connection.unsafe(ACCESS_SQL, accessValues(context.access), { prepare: true }).execute());
    }
    const opened = Promise.all(queued);
    opened.catch(() => {}); // awaited by the caller; avoid an unhandled rejection meanwhile
    return opened;
  }

  /** Reserves a connection, opens the context, runs `work`; rolls back on failure; always releases. */
  async function inContext<T>(
    context: RequestContext,
    work: (connection: postgres.ReservedSql, opened: Promise<unknown>) => Promise<T>,
  ): Promise<T> {
    checkContext(context);
    const connection = await requestClient.reserve();
    const opened = openContext(connection, context);
    try {
      return await work(connection, opened);
    } catch (error) {
      await connection.unsafe('rollback').catch(() => {});
      // A failed access check aborts the transaction, so the statements behind it fail too ("current
      // transaction is aborted"); the check's own error is the one that explains.
      throw (
        (await opened.then(
          () => null,
          (openError: unknown) => openError,
        )) ?? error
      );
    } finally {
      connection.release();
    }
  }

  /**
   * Runs one statement in a context transaction that costs a single write: COMMIT is queued the moment
   * the statement is queued. If the statement fails, Postgres answers the COMMIT of the aborted
   * transaction with a rollback.
   */
  function singleStatement<T>(
    context: RequestContext,
    execute: (client: postgres.Sql) => Promise<T>,
  ): Promise<T> {
    return inContext(context, async (connection, opened) => {
      let committed: Promise<unknown> | null = null;
      const queueCommitAfter = new Proxy(connection, {
        get(target, property, receiver) {
          if (property !== 'unsafe') return Reflect.get(target, property, receiver);
          return (...args: Parameters<postgres.ReservedSql['unsafe']>) => {
            if (committed) throw new Error('a single-statement transaction ran a second statement');
            const query = target.unsafe(...args);
            query.execute();
            committed = target.unsafe('commit').execute();
            committed.then(undefined, () => {});
            return query;
          };
        },
      });
      const result = await execute(queueCommitAfter);
      await opened;
      if (!committed) throw new Error('the statement never reached the database');
      await committed;
      return result;
    });
  }

  // Prepared Drizzle queries, built once per statement; each request binds one to its own connection.
  const templates = new WeakMap<object, { execute(values?: Record<string, unknown>): Promise<unknown> }>();
  function boundTemplate<Values extends Record<string, unknown>, Result>(
    statement: DefinedStatement<Values, Result>,
    client: postgres.Sql,
  ): { execute(values?: Record<string, unknown>): Promise<Result> } {
    let template = templates.get(statement);
    if (!template) {
      template = statement.build(scopedTo(client)).prepare(statement.name);
      templates.set(statement, template);
    }
    // Drizzle's prepared query keeps its connection in `client`; a per-request object inheriting the
    // built SQL, fields and mappers runs it on this request's connection. Without that property
    // (another Drizzle version), build afresh: correct, only slower.
    if (!Object.hasOwn(template, 'client')) return statement.build(scopedTo(client)).prepare(statement.name);
    return Object.assign(Object.create(template), { client }) as {
      execute(values?: Record<string, unknown>): Promise<Result>;
    };
  }

  const committed = eventsCommittedSignal();
  return {
    kind: 'postgres',
    owner,
    invalidateAccess: async () => {},
    async listen(channel, onNotify) {
      const { unlisten } = await ownerClient.listen(channel, onNotify);
      return unlisten;
    },
    onEventsCommitted: committed.on,
    async transaction(context, fn) {
      let scoped: object | null = null;
      // BEGIN, the context and fn's first query leave in one write: one round trip, not three.
      const result = await inContext(context, async (connection, opened) => {
        const db = scopedTo(connection);
        scoped = db;
        const answer = await fn(db);
        await opened;
        await connection.unsafe('commit');
        return answer;
      });
      if (scoped && publishedIn.has(scoped)) committed.emit(context);
      return result;
    },
    checkAccess: (context) =>
      inContext(context, async (connection, opened) => {
        await opened;
        await connection.unsafe('commit');
      }),
    statement: (context, build) => singleStatement(context, (client) => build(scopedTo(client)).execute()),
    async run(context, statement, values) {
      const result = await singleStatement(context, (client) =>
        boundTemplate(statement, client).execute(values),
      );
      if (statement.publishes) committed.emit(context);
      return result;
    },
    async ping() {
      await ownerClient`select 1`;
    },
    async close() {
      await Promise.all([requestClient.end({ timeout: 5 }), ownerClient.end({ timeout: 5 })]);
    },
  };
}

/** Several nodes may start at once against one database: only one migrates at a time. */
async function migrateWithLock(client: postgres.Sql, owner: PostgresJsDatabase<Schema>): Promise<void> {
  const lockKey = 7_305_114_113; // arbitrary constant: "wrapper migrations"
  const connection = await client.reserve();
  try {
    await connection`select pg_advisory_lock(${lockKey})`;
    await migratePostgres(owner, { migrationsFolder });
  } finally {
    await connection`select pg_advisory_unlock(${lockKey})`.catch(() => {});
    connection.release();
  }
}

/** Runs raw SQL and returns its rows; postgres.js answers with an array, PGlite with `{ rows }`. */
export async function selectRows<Row extends Record<string, unknown>>(
  db: ScopedDb,
  query: SQL,
): Promise<Row[]> {
  const result: unknown = await db.execute(query);
  if (Array.isArray(result)) return result as Row[];
  return (result as { rows: Row[] }).rows;
}
