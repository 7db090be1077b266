import { AppError } from '../errors.ts';
import { unstorableText } from './storable-text.ts';

/**
 * How deeply arrays and objects may nest in a JSON body. No request of the API needs more than a few
 * levels; JSON.parse and the validators recurse, so a 200 KB `[[[…]]]` would exhaust the stack.
 */
export const MAX_JSON_DEPTH = 64;

/** Whether JSON text nests deeper than `maxDepth`, in one pass that skips strings (and their escapes). */
export function nestsDeeperThan(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (inString) {
      if (code === 0x5c) index++;
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) inString = true;
    else if (code === 0x5b || code === 0x7b) {
      if (++depth > maxDepth) return true;
    } else if (code === 0x5d || code === 0x7d) depth--;
  }
  return false;
}

// Decoded text never holds a NUL or an unpaired surrogate of its own (a raw NUL is not valid JSON, and
// the UTF-8 decoder replaces broken sequences); only the `\u` escapes can produce them.
const ESCAPED_NUL_OR_SURROGATE = /\\u(?:0000|[dD][89a-fA-F])/;

/**
 * Parses a JSON body: too deep is 400 `json-too-deep` before JSON.parse sees it, invalid is 400
 * `malformed-json`, a string the database cannot store (NUL, unpaired surrogate) is 422 naming the field.
 */
export function parseJsonBody(text: string, maxDepth = MAX_JSON_DEPTH): unknown {
  if (nestsDeeperThan(text, maxDepth)) {
    throw new AppError('json-too-deep', `Arrays and objects may nest at most ${maxDepth} levels deep.`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AppError('malformed-json', 'The body could not be parsed; send valid JSON.');
  }
  if (ESCAPED_NUL_OR_SURROGATE.test(text)) {
    const errors = unstorableText(value);
    if (errors.length > 0) {
      throw new AppError(
        'validation-failed',
        'The body has text that cannot be stored: NUL characters (U+0000) and unpaired surrogates are refused.',
        { errors },
      );
    }
  }
  return value;
}
