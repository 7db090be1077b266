import { and, asc, eq, gt, inArray } from 'drizzle-orm';
import type { ScopedDb } from '../../../db/client.ts';
import { apiKeys, eventSequences, events } from '../../../db/schema/index.ts';
import type { TenantActor } from '../../../db/tenant.ts';
import { type EventEnvelope, type EventType, eventTypes } from '../../../realtime/events.ts';
import { toEnvelope } from '../../../realtime/relay.ts';
import { AppError } from '../../errors.ts';
import { tenantWidePermissions } from '../access/service.ts';

/**
 * What the caller may read tenant-wide: their permissions, and for an API key only those within its
 * scopes. Channels follow permissions, so event types do too.
 */
export async function effectivePermissions(
  db: ScopedDb,
  actor: Pick<TenantActor, 'userId' | 'apiKeyId'>,
): Promise<Set<string>> {
  const held = new Set<string>(await tenantWidePermissions(db, actor.userId));
  if (!actor.apiKeyId) return held;
  const [key] = await db
    .select({ scopes: apiKeys.scopes })
    .from(apiKeys)
    .where(eq(apiKeys.id, actor.apiKeyId));
  const scopes = new Set(key?.scopes ?? []);
  return new Set([...held].filter((permission) => scopes.has(permission)));
}

/** The event types a replay asks for: all it may read, or the listed ones (each known and readable). */
export function requestedTypes(readable: EventType[], listed: string | undefined): EventType[] {
  if (!listed) return readable;
  const names = [
    ...new Set(
      listed
        .split(',')
        .map((name) => name.trim())
        .filter(Boolean),
    ),
  ];
  const unknown = names.filter((name) => !(eventTypes as string[]).includes(name));
  if (unknown.length > 0) {
    throw new AppError('validation-failed', `Unknown event types: ${unknown.join(', ')}.`, {
      errors: [{ path: '/types', message: `Unknown: ${unknown.join(', ')}` }],
    });
  }
  const refused = names.filter((name) => !(readable as string[]).includes(name));
  if (refused.length > 0) {
    throw new AppError('forbidden', `You may not read these event types: ${refused.join(', ')}.`);
  }
  return names as EventType[];
}

/** The tenant's events after `after`, in seq order, of the given types; and the tenant's latest seq. */
export async function replayEvents(
  db: ScopedDb,
  input: { after: number; types: EventType[]; limit: number },
): Promise<{ items: EventEnvelope[]; nextCursor: string | null; headSeq: number }> {
  const [head] = await db
    .select({ lastSeq: eventSequences.lastSeq, prunedSeq: eventSequences.prunedSeq })
    .from(eventSequences);
  if (head && input.after < head.prunedSeq) {
    throw new AppError(
      'events-pruned',
      `Events up to seq ${head.prunedSeq} are past the retention and no longer kept; load the current state, then follow from seq ${head.lastSeq}.`,
      { earliestSeq: head.prunedSeq + 1, headSeq: head.lastSeq },
    );
  }
  if (input.types.length === 0) return { items: [], nextCursor: null, headSeq: head?.lastSeq ?? 0 };
  const all = input.types.length === eventTypes.length;
  const rows = await db
    .select()
    .from(events)
    .where(and(gt(events.seq, input.after), all ? undefined : inArray(events.type, input.types)))
    .orderBy(asc(events.seq))
    .limit(input.limit + 1);
  const page = rows.slice(0, input.limit);
  const last = page.at(-1);
  return {
    items: page.map(toEnvelope),
    nextCursor: rows.length > input.limit && last ? String(last.seq) : null,
    headSeq: head?.lastSeq ?? 0,
  };
}
