import { Kind } from '@sinclair/typebox';
import type { AnyElysia } from 'elysia';

const SCHEMA_SLOTS = ['body', 'query', 'params', 'headers', 'cookie', 'response'] as const;
const MESSAGE = 'The request is not valid.';

function isSchema(value: unknown): value is Record<PropertyKey, unknown> {
  return typeof value === 'object' && value !== null && Kind in value;
}

/**
 * Elysia builds a ValidationError's message as it throws, from the invalid value itself: outside
 * production (NODE_ENV unset is development) it pretty-prints the whole value, which costs size × depth
 * — a 20 KB nested body held the event loop for seconds. A schema's own `error` text replaces that
 * message. So every node of every route's schemas gets one, non-enumerable so that no document or
 * catalog that serializes the schemas shows it. The problem+json answer is built from the validator's
 * error list (capped by Elysia), never from this message. Call once all routes are added, before the
 * first request compiles them.
 */
export function quietValidationErrors<App extends AnyElysia>(app: App): App {
  const seen = new Set<object>();
  const pending: unknown[] = [];
  for (const route of app.routes) {
    const hooks = route.hooks as Record<string, unknown> | undefined;
    for (const slot of SCHEMA_SLOTS) pending.push(hooks?.[slot]);
    pending.push(hooks?.standaloneSchema);
  }
  while (pending.length > 0) {
    const node = pending.pop();
    if (typeof node !== 'object' || node === null || seen.has(node)) continue;
    seen.add(node);
    if (isSchema(node) && !Object.hasOwn(node, 'error')) {
      Object.defineProperty(node, 'error', { value: MESSAGE, enumerable: false, configurable: true });
    }
    for (const child of Object.values(node)) if (typeof child === 'object') pending.push(child);
  }
  return app;
}
