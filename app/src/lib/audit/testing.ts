import type { AuditEntry } from '../api';

/** For unit tests: an audit entry of tenant `tenant-1` numbered `seq`, with what the test sets. */
export function testAuditEntry(seq: number, fields: Partial<AuditEntry> = {}): AuditEntry {
  return {
    id: `entry-${seq}`,
    tenantId: 'tenant-1',
    seq,
    occurredAt: new Date(Date.UTC(2025, 5, 15, 12, 0, seq)).toISOString(),
    action: 'organization.created',
    actor: { type: 'user', id: 'user-1', name: 'Ada Lovelace' },
    targets: [{ type: 'organization', id: `org-${seq}`, name: `Research ${seq}` }],
    context: { requestId: `request-${seq}`, ip: '127.0.0.1', userAgent: 'test' },
    changes: {},
    metadata: {},
    outcome: 'success',
    hash: '0'.repeat(64),
    ...fields,
  };
}
