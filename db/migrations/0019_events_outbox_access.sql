-- Events are tenant data: a request sees and writes only its tenant's. They are written by
-- publish_event() alone, in the transaction of the change they describe, and never updated or deleted
-- by a request role. The relay (moving committed events to the bus) works as its own role, app_relay.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app_relay') THEN
    CREATE ROLE app_relay NOLOGIN NOBYPASSRLS;
  END IF;
END
$$;
--> statement-breakpoint
GRANT app_relay TO CURRENT_USER;
--> statement-breakpoint
GRANT USAGE ON SCHEMA public TO app_relay;
--> statement-breakpoint
ALTER TABLE events ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE events FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE event_sequences ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE event_sequences FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE event_relay_positions ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE event_relay_positions FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
GRANT SELECT, INSERT ON events TO app_user;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON event_sequences TO app_user;
--> statement-breakpoint
CREATE POLICY events_isolation ON events TO app_user
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
--> statement-breakpoint
CREATE POLICY event_sequences_isolation ON event_sequences TO app_user
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
--> statement-breakpoint
GRANT SELECT ON events, event_sequences TO app_relay;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON event_relay_positions TO app_relay;
--> statement-breakpoint
CREATE POLICY events_relay ON events FOR SELECT TO app_relay USING (true);
--> statement-breakpoint
CREATE POLICY event_sequences_relay ON event_sequences FOR SELECT TO app_relay USING (true);
--> statement-breakpoint
CREATE POLICY event_relay_positions_relay ON event_relay_positions TO app_relay USING (true) WITH CHECK (true);
--> statement-breakpoint
-- One call appends an event: the next seq of the request's tenant (taken under the tenant's sequence
-- row, so a tenant's events commit in seq order and a rolled-back change leaves no gap), the actor from
-- the request context, and a notification to the relay delivered when the transaction commits.
CREATE OR REPLACE FUNCTION publish_event(event_id uuid, event_type text, event_version smallint, event_data jsonb)
  RETURNS bigint
  LANGUAGE plpgsql
  AS $$
DECLARE
  acting_tenant uuid := current_tenant_id();
  acting_user uuid := current_user_id();
  acting_key uuid := current_api_key_id();
  next_seq bigint;
BEGIN
  IF acting_tenant IS NULL THEN
    RAISE EXCEPTION 'publish_event needs a tenant context';
  END IF;
  INSERT INTO event_sequences AS s (tenant_id, last_seq) VALUES (acting_tenant, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET last_seq = s.last_seq + 1
    RETURNING last_seq INTO next_seq;
  INSERT INTO events (tenant_id, seq, id, type, version, actor, data)
  VALUES (
    acting_tenant, next_seq, event_id, event_type, event_version,
    CASE
      WHEN acting_key IS NOT NULL THEN jsonb_build_object('type', 'api_key', 'id', acting_key, 'userId', acting_user)
      WHEN acting_user IS NOT NULL THEN jsonb_build_object('type', 'user', 'id', acting_user)
      ELSE jsonb_build_object('type', 'system')
    END,
    event_data
  );
  PERFORM pg_notify('wr_events', acting_tenant::text);
  RETURN next_seq;
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION publish_event(uuid, text, smallint, jsonb) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION publish_event(uuid, text, smallint, jsonb) TO app_user;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION current_api_key_id(), current_tenant_id() TO app_relay;
