CREATE TABLE "audit_chain_heads" (
	"tenant_id" uuid PRIMARY KEY NOT NULL,
	"last_seq" bigint NOT NULL,
	"last_hash" "bytea" NOT NULL
);
--> statement-breakpoint
CREATE TABLE "audit_checkpoints" (
	"tenant_id" uuid NOT NULL,
	"seq" bigint NOT NULL,
	"hash" "bytea" NOT NULL,
	"signed_at" timestamp (3) with time zone NOT NULL,
	"reason" text NOT NULL,
	"key_id" text NOT NULL,
	"signature" "bytea" NOT NULL,
	CONSTRAINT "audit_checkpoints_pkey" PRIMARY KEY("tenant_id","seq","key_id")
);
--> statement-breakpoint
CREATE TABLE "audit_entries" (
	"tenant_id" uuid NOT NULL,
	"seq" bigint NOT NULL,
	"id" uuid NOT NULL,
	"occurred_at" timestamp (3) with time zone NOT NULL,
	"action" text NOT NULL,
	"actor_type" text NOT NULL,
	"actor_id" text,
	"actor_name" text,
	"targets" jsonb NOT NULL,
	"context" jsonb NOT NULL,
	"changes" jsonb NOT NULL,
	"metadata" jsonb NOT NULL,
	"outcome" text NOT NULL,
	"hash" "bytea" NOT NULL,
	CONSTRAINT "audit_entries_pkey" PRIMARY KEY("tenant_id","seq"),
	CONSTRAINT "audit_entries_id_key" UNIQUE("id")
);
--> statement-breakpoint
ALTER TABLE "audit_chain_heads" ADD CONSTRAINT "audit_chain_heads_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "audit_checkpoints" ADD CONSTRAINT "audit_checkpoints_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "audit_entries" ADD CONSTRAINT "audit_entries_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "audit_entries_tenant_time_idx" ON "audit_entries" USING btree ("tenant_id","occurred_at");--> statement-breakpoint
CREATE INDEX "audit_entries_tenant_action_idx" ON "audit_entries" USING btree ("tenant_id","action","seq");--> statement-breakpoint
CREATE INDEX "audit_entries_tenant_actor_idx" ON "audit_entries" USING btree ("tenant_id","actor_id","seq");--> statement-breakpoint
CREATE INDEX "audit_entries_targets_idx" ON "audit_entries" USING gin ("targets" jsonb_path_ops);--> statement-breakpoint
-- The audit trail (decision 0017). Request roles append through append_audit_entry() and may read their
-- tenant's entries; nobody but retention pruning (role app_audit, through prune_audit_entries) removes or
-- changes an entry, enforced by grants, forced RLS and a trigger. Checkpoints and pruning run as app_audit.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app_audit') THEN
    CREATE ROLE app_audit NOLOGIN NOBYPASSRLS;
  END IF;
END
$$;
--> statement-breakpoint
GRANT app_audit TO CURRENT_USER;
--> statement-breakpoint
GRANT USAGE ON SCHEMA public TO app_audit;
--> statement-breakpoint
ALTER TABLE audit_entries ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE audit_entries FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE audit_chain_heads ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE audit_chain_heads FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE audit_checkpoints ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE audit_checkpoints FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
GRANT SELECT, INSERT ON audit_entries TO app_user, app_admin;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON audit_chain_heads TO app_user, app_admin;
--> statement-breakpoint
GRANT SELECT, INSERT ON audit_checkpoints TO app_user, app_admin;
--> statement-breakpoint
GRANT SELECT ON audit_entries, audit_chain_heads TO app_audit;
--> statement-breakpoint
GRANT SELECT, INSERT ON audit_checkpoints TO app_audit;
--> statement-breakpoint
CREATE POLICY audit_entries_isolation ON audit_entries TO app_user
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
--> statement-breakpoint
CREATE POLICY audit_chain_heads_isolation ON audit_chain_heads TO app_user
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
--> statement-breakpoint
CREATE POLICY audit_checkpoints_isolation ON audit_checkpoints TO app_user
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
--> statement-breakpoint
-- Platform admins read every tenant's trail (the console's live stream and search), and write entries
-- in the tenant they act in.
CREATE POLICY audit_entries_platform_admin_read ON audit_entries FOR SELECT TO app_admin
  USING (acting_platform_admin());
--> statement-breakpoint
CREATE POLICY audit_entries_platform_admin_write ON audit_entries FOR INSERT TO app_admin
  WITH CHECK (tenant_id = current_tenant_id() AND acting_platform_admin());
--> statement-breakpoint
CREATE POLICY audit_chain_heads_platform_admin ON audit_chain_heads TO app_admin
  USING (tenant_id = current_tenant_id() AND acting_platform_admin())
  WITH CHECK (tenant_id = current_tenant_id() AND acting_platform_admin());
--> statement-breakpoint
CREATE POLICY audit_checkpoints_platform_admin ON audit_checkpoints FOR SELECT TO app_admin
  USING (acting_platform_admin());
--> statement-breakpoint
CREATE POLICY audit_entries_audit ON audit_entries FOR SELECT TO app_audit USING (true);
--> statement-breakpoint
CREATE POLICY audit_chain_heads_audit ON audit_chain_heads FOR SELECT TO app_audit USING (true);
--> statement-breakpoint
CREATE POLICY audit_checkpoints_audit ON audit_checkpoints TO app_audit USING (true) WITH CHECK (true);
--> statement-breakpoint
-- Appends one entry to the acting tenant's chain: under the lock of the tenant's head row, seq is the
-- next one and hash = SHA-256(previous hash ‖ seq as 8 bytes big-endian ‖ digest), where digest is the
-- SHA-256 of the entry's RFC 8785 canonical JSON, computed by the application. The first previous hash
-- is 32 zero bytes. Concurrent writers queue on the head row, so the chain has one order: seq.
CREATE OR REPLACE FUNCTION append_audit_entry(
  entry_tenant uuid, entry_id uuid, entry_occurred_at timestamptz, entry_action text, entry_actor_type text,
  entry_actor_id text, entry_actor_name text, entry_targets jsonb, entry_context jsonb,
  entry_changes jsonb, entry_metadata jsonb, entry_outcome text, entry_digest bytea
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
  RETURN next_seq;
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION append_audit_entry(uuid, uuid, timestamptz, text, text, text, text, jsonb, jsonb, jsonb, jsonb, text, bytea) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION append_audit_entry(uuid, uuid, timestamptz, text, text, text, text, jsonb, jsonb, jsonb, jsonb, text, bytea) TO app_user, app_admin;
--> statement-breakpoint
-- Entries are never changed; only prune_audit_entries (retention) removes them, below a signed checkpoint.
CREATE OR REPLACE FUNCTION audit_entries_immutable() RETURNS trigger
  LANGUAGE plpgsql
  AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('app.audit_pruning', true) = 'on' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit entries cannot be changed or removed' USING ERRCODE = 'insufficient_privilege';
END
$$;
--> statement-breakpoint
CREATE TRIGGER audit_entries_immutable BEFORE UPDATE OR DELETE ON audit_entries
  FOR EACH ROW EXECUTE FUNCTION audit_entries_immutable();
--> statement-breakpoint
CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
  FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_immutable();
--> statement-breakpoint
-- Retention: removes a tenant's entries up to and including through_seq, which must be covered by a
-- checkpoint already written (the cut stays verifiable: what remains chains from that checkpoint's hash).
-- Runs as the owner, called by app_audit.
CREATE OR REPLACE FUNCTION prune_audit_entries(pruned_tenant uuid, through_seq bigint) RETURNS integer
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
  AS $$
DECLARE
  removed integer;
BEGIN
  IF NOT EXISTS (SELECT FROM audit_checkpoints WHERE tenant_id = pruned_tenant AND seq = through_seq) THEN
    RAISE EXCEPTION 'prune_audit_entries: no checkpoint at seq %', through_seq;
  END IF;
  PERFORM set_config('app.audit_pruning', 'on', true);
  DELETE FROM audit_entries WHERE tenant_id = pruned_tenant AND seq <= through_seq;
  GET DIAGNOSTICS removed = ROW_COUNT;
  PERFORM set_config('app.audit_pruning', 'off', true);
  RETURN removed;
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION prune_audit_entries(uuid, bigint) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION prune_audit_entries(uuid, bigint) TO app_audit;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION current_tenant_id(), current_user_id() TO app_audit;
