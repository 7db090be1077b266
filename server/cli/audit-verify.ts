import { createPublicKey, type KeyObject } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import {
  CHECKPOINT_LOG_MESSAGE,
  type ChainVerdict,
  ChainVerifier,
  keyIdOf,
} from '../features/audit/chain.ts';
import type { AuditCheckpoint, AuditEntry } from '../features/audit/model.ts';

/**
 * `bun run audit:verify <export.ndjson> --public-key <file-or-pem> [--checkpoints <file>]...`
 *
 * Verifies an export of `GET /v1/audit-logs/export?format=ndjson` (one entry per line, seq ascending)
 * with neither the server nor its database, reading the file line by line (memory: the checkpoints,
 * never the entries). The public key is `GET /v1/audit-logs/public-key` (its JSON answer as saved, or
 * the PEM alone, as a file or as the argument itself: `--public-key="$(cat key.pem)"`); give
 * `--public-key` again for older keys.
 * Checkpoints come as files: the JSON answer of `GET /v1/audit-logs/checkpoints` (pages concatenated
 * or one), a JSON array, or NDJSON with one checkpoint or one `audit checkpoint` log line per line (the
 * log stream, which a tamperer with the database alone cannot rewrite). Without checkpoints only the
 * chain's own consistency is checked: a re-hashed chain would pass. Exit code 0: valid; 1: broken;
 * 2: the command was wrong.
 */
const usage =
  'usage: bun run audit:verify <export.ndjson> --public-key <file-or-pem> [--checkpoints <file>]... [--tenant <id>] [--json]';

function fail(message: string): never {
  console.error(`audit:verify: ${message}\n${usage}`);
  process.exit(2);
}

let parsed: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    args: Bun.argv.slice(2),
    allowPositionals: true,
    options: {
      'public-key': { type: 'string', multiple: true },
      checkpoints: { type: 'string', multiple: true },
      tenant: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
}
try {
  parsed = parse();
} catch (error) {
  fail((error as Error).message);
}
const [exportPath, ...extra] = parsed.positionals;
if (!exportPath || extra.length > 0) fail('name one export file');
if (!existsSync(exportPath)) fail(`no such file: ${exportPath}`);
const keyArguments = parsed.values['public-key'] ?? [];
if (keyArguments.length === 0) fail('--public-key is required');

/**
 * A PEM, a JWK, or the JSON answer of GET /v1/audit-logs/public-key (with its previous keys); the text
 * itself or a file.
 */
function readPublicKeys(argument: string): KeyObject[] {
  const text =
    argument.includes('-----BEGIN') || argument.trim().startsWith('{') ? argument : readText(argument);
  const trimmed = text.trim();
  try {
    if (trimmed.startsWith('{')) {
      const value = JSON.parse(trimmed) as {
        publicKeyPem?: string;
        jwk?: object;
        kty?: string;
        previousKeys?: { publicKeyPem: string }[];
      };
      const previous = (value.previousKeys ?? []).map((key) => createPublicKey(key.publicKeyPem));
      if (value.publicKeyPem) return [createPublicKey(value.publicKeyPem), ...previous];
      const jwk = value.jwk ?? (value.kty ? value : null);
      if (jwk) return [createPublicKey({ key: jwk as never, format: 'jwk' }), ...previous];
      throw new Error('no publicKeyPem or jwk in it');
    }
    return [createPublicKey(trimmed.replaceAll('\\n', '\n'))];
  } catch (error) {
    fail(
      `--public-key ${argument.length > 80 ? '(text)' : argument}: not a public key (${(error as Error).message})`,
    );
  }
}

function readText(path: string): string {
  if (!existsSync(path)) fail(`no such file: ${path}`);
  return readFileSync(path, 'utf8');
}

const isCheckpoint = (value: unknown): value is AuditCheckpoint => {
  const item = value as Partial<AuditCheckpoint> | null;
  return (
    typeof item === 'object' &&
    item !== null &&
    typeof item.tenantId === 'string' &&
    typeof item.seq === 'number' &&
    typeof item.hash === 'string' &&
    typeof item.signature === 'string'
  );
};

/** Every checkpoint in a file: pages, arrays, single checkpoints, or log lines, as JSON or NDJSON. */
function readCheckpoints(path: string): AuditCheckpoint[] {
  const text = readText(path);
  const found: AuditCheckpoint[] = [];
  const take = (value: unknown) => {
    if (Array.isArray(value)) for (const item of value) take(item);
    else if (isCheckpoint(value)) found.push(value);
    else if (typeof value === 'object' && value !== null) {
      const record = value as { items?: unknown; checkpoint?: unknown; msg?: unknown; message?: unknown };
      if (Array.isArray(record.items)) take(record.items);
      else if (
        record.checkpoint &&
        (record.msg ?? record.message ?? CHECKPOINT_LOG_MESSAGE) === CHECKPOINT_LOG_MESSAGE
      )
        take(record.checkpoint);
    }
  };
  try {
    take(JSON.parse(text));
  } catch {
    // Not one JSON document: one per line (NDJSON, a log file), lines that are not JSON skipped.
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        take(JSON.parse(line));
      } catch {}
    }
  }
  return found;
}

const looksLikeEntry = (value: unknown): value is AuditEntry => {
  const entry = value as Partial<AuditEntry> | null;
  return (
    typeof entry === 'object' &&
    entry !== null &&
    typeof entry.id === 'string' &&
    typeof entry.tenantId === 'string' &&
    Number.isSafeInteger(entry.seq) &&
    typeof entry.hash === 'string' &&
    typeof entry.actor === 'object' &&
    entry.actor !== null
  );
};

const publicKeys = keyArguments.flatMap(readPublicKeys);
const checkpoints = (parsed.values.checkpoints ?? []).flatMap(readCheckpoints);

let verifier: ChainVerifier | null = null;
let tenantId = parsed.values.tenant ?? null;
let lineNumber = 0;
let lastSeq = 0;
const start = () => {
  verifier ??= new ChainVerifier({ tenantId: tenantId ?? '', checkpoints, publicKey: publicKeys });
  return verifier;
};

const lines = createInterface({
  input: createReadStream(exportPath, { encoding: 'utf8' }),
  crlfDelay: Infinity,
});
for await (const line of lines) {
  lineNumber += 1;
  if (!line.trim()) continue;
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch {
    entry = null;
  }
  if (!looksLikeEntry(entry)) {
    start().failAt(lastSeq + 1, 'malformed-entry');
    break;
  }
  tenantId ??= entry.tenantId;
  if (!start().add(entry)) break;
  lastSeq = entry.seq;
}
lines.close();

// An empty export: the tenant is the checkpoints' (one tenant per export).
tenantId ??= checkpoints[0]?.tenantId ?? null;
const verdict: ChainVerdict = start().finish();

if (parsed.values.json) console.log(JSON.stringify(verdict));
else {
  const keys = publicKeys.map(keyIdOf).join(', ');
  const trusted = `${checkpoints.length} checkpoint(s) given, keys ${keys}`;
  if (verdict.valid) {
    console.log(
      `valid: ${verdict.checked} entries of tenant ${tenantId ?? '(none)'} chain correctly` +
        (verdict.startSeq && verdict.startSeq > 1
          ? ` from seq ${verdict.startSeq} (older ones pruned)`
          : '') +
        `; attested by signed checkpoints through seq ${verdict.attestedThroughSeq ?? 'none'} (${trusted}).`,
    );
    if (checkpoints.length === 0) {
      console.log('note: without --checkpoints only the chain is checked; a re-hashed chain would pass.');
    }
  } else {
    console.log(
      `BROKEN: ${verdict.reason} at seq ${verdict.firstBrokenSeq}` +
        (verdict.firstBrokenId ? ` (entry ${verdict.firstBrokenId})` : '') +
        (verdict.reason === 'malformed-entry' ? ` (line ${lineNumber})` : '') +
        `; ${verdict.checked} entries checked; intact through signed seq ${verdict.attestedThroughSeq ?? 'none'}.`,
    );
  }
  console.log(JSON.stringify(verdict));
}
process.exit(verdict.valid ? 0 : 1);
