import type { AuditEntry } from './model.ts';

export type ExportFormat = 'ndjson' | 'csv';

export const exportContentTypes: Record<ExportFormat, string> = {
  ndjson: 'application/x-ndjson',
  csv: 'text/csv; charset=utf-8; header=present',
};

/** One entry per line, exactly the API's entry (with `seq` and `hash`): what a chain verifier reads. */
export const ndjsonLines = (entries: readonly AuditEntry[]) =>
  entries.map((entry) => `${JSON.stringify(entry)}\n`).join('');

export const CSV_COLUMNS = [
  'seq',
  'id',
  'tenantId',
  'occurredAt',
  'action',
  'actorType',
  'actorId',
  'actorName',
  'targets',
  'context',
  'changes',
  'metadata',
  'outcome',
  'hash',
] as const;

/**
 * One CSV cell (RFC 4180): quoted when it holds a quote, comma, CR or LF, quotes doubled; null is empty.
 * A cell that a spreadsheet would run as a formula — starting with `=`, `+`, `-`, `@`, a tab or a CR —
 * gets a leading `'` (OWASP's CSV injection advice), so such text reads as text. The NDJSON export
 * carries every value unchanged.
 */
export function csvCell(value: string | number | null): string {
  if (value === null) return '';
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

const csvRow = (cells: ReadonlyArray<string | number | null>) => `${cells.map(csvCell).join(',')}\r\n`;

export const csvHeader = () => csvRow(CSV_COLUMNS);

/** The entries as CSV rows; the JSON columns (targets, context, changes, metadata) as JSON text. */
export const csvRows = (entries: readonly AuditEntry[]) =>
  entries
    .map((entry) =>
      csvRow([
        entry.seq,
        entry.id,
        entry.tenantId,
        entry.occurredAt,
        entry.action,
        entry.actor.type,
        entry.actor.id,
        entry.actor.name,
        JSON.stringify(entry.targets),
        JSON.stringify(entry.context),
        JSON.stringify(entry.changes),
        JSON.stringify(entry.metadata),
        entry.outcome,
        entry.hash,
      ]),
    )
    .join('');

/**
 * A response body that pulls one batch of entries at a time from `batches` when the reader wants more
 * (one batch buffered at most), so an export of any size holds about one batch in memory. A reader
 * that goes away (the client disconnected) cancels the stream, which ends `batches`: no more reads.
 */
export function exportStream(
  batches: AsyncGenerator<AuditEntry[]>,
  format: ExportFormat,
  onError: (error: unknown) => void,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let header = format === 'csv' ? csvHeader() : null;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const next = await batches.next();
          const text =
            (header ?? '') +
            (next.done ? '' : format === 'csv' ? csvRows(next.value) : ndjsonLines(next.value));
          header = null;
          if (text) controller.enqueue(encoder.encode(text));
          if (next.done) controller.close();
        } catch (error) {
          onError(error);
          controller.error(error);
        }
      },
      async cancel() {
        await batches.return(undefined);
      },
    },
    { highWaterMark: 1 },
  );
}

/** `audit-log-<tenant>-<UTC time>.<format>`, for Content-Disposition. */
export function exportFilename(tenantId: string, format: ExportFormat, at: Date = new Date()): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `audit-log-${tenantId}-${stamp}.${format}`;
}
