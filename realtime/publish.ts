import { FormatRegistry } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { sql } from 'drizzle-orm';
import { markPublished, type ScopedDb, selectRows } from '../db/client.ts';
import { type EventData, type EventType, eventCatalog, eventTypes } from './events.ts';

// The server registers its own (faster) checks for these formats; standalone use gets plain ones.
if (!FormatRegistry.Has('uuid')) {
  FormatRegistry.Set('uuid', (value) =>
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value),
  );
}
if (!FormatRegistry.Has('date-time'))
  FormatRegistry.Set('date-time', (value) => !Number.isNaN(Date.parse(value)));

const checkers = new Map(eventTypes.map((type) => [type, TypeCompiler.Compile(eventCatalog[type].data)]));

/** A published event that does not match the catalog: a bug in the publisher, never the caller's input. */
export class EventSchemaError extends Error {
  constructor(type: string, detail: string) {
    super(`event ${type} does not match the catalog: ${detail}`);
    this.name = 'EventSchemaError';
  }
}

/**
 * Appends an event to the tenant's log inside the caller's transaction (the transactional outbox): it
 * commits or rolls back with the change it describes. The tenant and actor come from the transaction's
 * context; `seq` is the tenant's next. Answers the seq.
 */
export async function publish<Type extends EventType>(
  db: ScopedDb,
  type: Type,
  data: EventData<Type>,
): Promise<number> {
  const checker = checkers.get(type);
  if (!checker) throw new EventSchemaError(type, 'unknown type');
  if (!checker.Check(data)) {
    const first = checker.Errors(data).First();
    throw new EventSchemaError(type, first ? `${first.path || '/'} ${first.message}` : 'invalid');
  }
  markPublished(db);
  const [row] = await selectRows<{ seq: string | number }>(
    db,
    sql`select publish_event(${Bun.randomUUIDv7()}::uuid, ${type}::text, ${eventCatalog[type].version}::smallint, ${JSON.stringify(data)}::jsonb) as seq`,
  );
  return Number(row?.seq);
}
