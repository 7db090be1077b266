CREATE TABLE "audit_feed" (
	"position" bigint GENERATED ALWAYS AS IDENTITY (sequence name "audit_feed_position_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"tenant_id" uuid NOT NULL,
	"event_seq" bigint NOT NULL,
	CONSTRAINT "audit_feed_pkey" PRIMARY KEY("position")
);
--> statement-breakpoint
ALTER TABLE "audit_feed" ADD CONSTRAINT "audit_feed_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "audit_feed_event_idx" ON "audit_feed" USING btree ("tenant_id","event_seq");--> statement-breakpoint
ALTER TABLE audit_feed ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE audit_feed FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
GRANT SELECT, INSERT ON audit_feed TO app_relay;
--> statement-breakpoint
GRANT USAGE ON SEQUENCE audit_feed_position_seq TO app_relay;
--> statement-breakpoint
CREATE POLICY audit_feed_relay ON audit_feed TO app_relay USING (true) WITH CHECK (true);
--> statement-breakpoint
-- append_audit_entry now also publishes the entry as an `audit.recorded` event (same transaction, same
-- outbox), so the tenant's `audit` channel and the platform's `admin:audit` carry it live.
DROP FUNCTION append_audit_entry(uuid, uuid, timestamptz, text, text, text, text, jsonb, jsonb, jsonb, jsonb, text, bytea);
--> statement-breakpoint
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
--> statement-breakpoint
REVOKE ALL ON FUNCTION append_audit_entry(uuid, uuid, timestamptz, text, text, text, text, jsonb, jsonb, jsonb, jsonb, text, bytea, uuid) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION append_audit_entry(uuid, uuid, timestamptz, text, text, text, text, jsonb, jsonb, jsonb, jsonb, text, bytea, uuid) TO app_user, app_admin;
--> statement-breakpoint
-- Platform admins read the feed and the audit.recorded events of every tenant (admin:audit replays).
GRANT SELECT ON audit_feed TO app_admin;
--> statement-breakpoint
CREATE POLICY audit_feed_platform_admin ON audit_feed FOR SELECT TO app_admin USING (acting_platform_admin());
--> statement-breakpoint
CREATE POLICY events_platform_admin_audit ON events FOR SELECT TO app_admin
  USING (type = 'audit.recorded' AND acting_platform_admin());
