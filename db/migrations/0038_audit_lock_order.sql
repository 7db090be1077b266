-- append_audit_entry takes the tenant's event_sequences row before its audit chain head: every
-- transaction that both publishes and records then locks the two in the same order (decision 0017).
CREATE OR REPLACE FUNCTION append_audit_entry(
  entry_tenant uuid, entry_id uuid, entry_occurred_at timestamptz, entry_action text, entry_actor_type text,
  entry_actor_id text, entry_actor_name text, entry_targets jsonb, entry_context jsonb,
  entry_changes jsonb, entry_metadata jsonb, entry_outcome text, entry_digest bytea, event_id uuid
) RETURNS bigint
  LANGUAGE plpgsql
  AS $$
DECLARE
  acting_tenant uuid := current_tenant_id();
  next_seq bigint;
  next_hash bytea;
BEGIN
  IF acting_tenant IS NULL OR entry_tenant IS DISTINCT FROM acting_tenant THEN
    RAISE EXCEPTION 'append_audit_entry needs the tenant context of the entry';
  END IF;
  IF length(entry_digest) <> 32 THEN
    RAISE EXCEPTION 'append_audit_entry: the digest must be 32 bytes';
  END IF;
  -- Locks in one order: the tenant's event sequence first (publish_event below takes it too, and a
  -- change that published before recording holds it already), then the chain head. Taking the head
  -- first would deadlock against a concurrent change that published first.
  INSERT INTO event_sequences (tenant_id, last_seq) VALUES (acting_tenant, 0) ON CONFLICT (tenant_id) DO NOTHING;
  PERFORM 1 FROM event_sequences WHERE tenant_id = acting_tenant FOR UPDATE;
  INSERT INTO audit_chain_heads AS h (tenant_id, last_seq, last_hash)
    VALUES (acting_tenant, 1, sha256(decode(repeat('00', 32), 'hex') || int8send(1::bigint) || entry_digest))
    ON CONFLICT (tenant_id) DO UPDATE
      SET last_seq = h.last_seq + 1, last_hash = sha256(h.last_hash || int8send(h.last_seq + 1) || entry_digest)
    RETURNING last_seq, last_hash INTO next_seq, next_hash;
  INSERT INTO audit_entries (tenant_id, seq, id, occurred_at, action, actor_type, actor_id, actor_name,
                             targets, context, changes, metadata, outcome, hash)
  VALUES (acting_tenant, next_seq, entry_id, entry_occurred_at, entry_action, entry_actor_type,
          entry_actor_id, entry_actor_name, entry_targets, entry_context, entry_changes, entry_metadata,
          entry_outcome, next_hash);
  PERFORM publish_event(event_id, 'audit.recorded', 1::smallint, jsonb_build_object(
    'id', entry_id, 'tenantId', acting_tenant, 'seq', next_seq,
    'occurredAt', to_char(entry_occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'action', entry_action,
    'actor', jsonb_build_object('type', entry_actor_type, 'id', entry_actor_id, 'name', entry_actor_name),
    'targets', entry_targets, 'context', entry_context, 'changes', entry_changes,
    'metadata', entry_metadata, 'outcome', entry_outcome, 'hash', encode(next_hash, 'hex')));
  RETURN next_seq;
END
$$;
