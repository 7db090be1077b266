/** Edits of a JSON body that JSON.stringify alone cannot make: raw number text, raw bytes, deep nesting. */

const RAW = 'FUZZ_RAW_MARKER_7f3a';
export const utf8 = (text: string) => new TextEncoder().encode(text);
export const concatBytes = (...parts: Uint8Array[]): Uint8Array<ArrayBuffer> =>
  new Uint8Array(Buffer.concat(parts));

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A copy of `value` with the field at `path` set (undefined deletes it), creating objects on the way. */
export function withField(value: unknown, path: string[], field: unknown): unknown {
  const root: Record<string, unknown> = isRecord(value) ? structuredClone(value) : {};
  let node = root;
  for (const name of path.slice(0, -1)) {
    const next = node[name];
    const child: Record<string, unknown> = isRecord(next) ? next : {};
    node[name] = child;
    node = child;
  }
  const last = path.at(-1) ?? 'fuzz';
  if (field === undefined) delete node[last];
  else node[last] = field;
  return root;
}

/** The body with raw JSON text (numbers JSON.stringify would not write, deep nesting) at `path`. */
export function withRawField(value: unknown, path: string[], raw: string): string {
  return JSON.stringify(withField(value, path, RAW)).replace(`"${RAW}"`, raw);
}

/** The body with raw bytes (e.g. invalid UTF-8) inside the string at `path`. */
export function withRawBytes(value: unknown, path: string[], bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const [before, after] = JSON.stringify(withField(value, path, RAW)).split(RAW);
  return concatBytes(utf8(before ?? ''), bytes, utf8(after ?? ''));
}

export const INVALID_UTF8: ReadonlyArray<[string, number[]]> = [
  ['0xff', [0xff]],
  ['overlong "/"', [0xc0, 0xaf]],
  ['lone continuation byte', [0x80]],
  ['encoded surrogate (CESU-8)', [0xed, 0xa0, 0x80]],
  ['truncated sequence', [0xe2, 0x82]],
  ['five-byte form', [0xf8, 0x88, 0x80, 0x80, 0x80]],
  ['byte-order mark bytes', [0xfe, 0xff]],
];

export const deepArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
export const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
