import type { FieldError } from '../errors.ts';

// Postgres text and jsonb cannot hold U+0000 (`invalid byte sequence for encoding "UTF8": 0x00`), and an
// unpaired UTF-16 surrogate has no UTF-8 form at all: both would reach the database and fail there as a 500.
const UNPAIRED_SURROGATE = /\p{Surrogate}/u;
const MAX_REPORTED = 20;

function problemWith(text: string): string | null {
  if (text.includes('\u0000')) return 'must not contain the NUL character (U+0000)';
  if (UNPAIRED_SURROGATE.test(text)) return 'must be well-formed Unicode (an unpaired surrogate was sent)';
  return null;
}

const pointerToken = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');

/**
 * Every string in `value` (object keys too) that the database could not store, as JSON pointers. Walks
 * with its own stack, never recursion: the value may come from a caller. Stops after a few findings.
 */
export function unstorableText(value: unknown, root = ''): FieldError[] {
  const found: FieldError[] = [];
  const pending: Array<[unknown, string]> = [[value, root]];
  while (pending.length > 0 && found.length < MAX_REPORTED) {
    const [current, path] = pending.pop() as [unknown, string];
    if (typeof current === 'string') {
      const message = problemWith(current);
      if (message) found.push({ path: path || '/', message });
    } else if (Array.isArray(current)) {
      for (let index = current.length - 1; index >= 0; index--)
        pending.push([current[index], `${path}/${index}`]);
    } else if (current !== null && typeof current === 'object') {
      for (const [key, item] of Object.entries(current)) {
        const keyMessage = problemWith(key);
        if (keyMessage) found.push({ path: `${path}/${pointerToken(key)}`, message: `key ${keyMessage}` });
        pending.push([item, `${path}/${pointerToken(key)}`]);
      }
    }
  }
  return found;
}
