-- Plans and credit packs are the platform's catalog: every request role reads them, only the owner (the
-- catalog sync at start) writes them. A tenant's billing account and the Stripe events applied to it are
-- tenant data.
GRANT SELECT ON plans, credit_packs TO app_user, app_admin;
--> statement-breakpoint
ALTER TABLE billing_accounts ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE billing_accounts FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE stripe_events ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE stripe_events FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON billing_accounts TO app_user;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE (outcome) ON stripe_events TO app_user;
--> statement-breakpoint
CREATE POLICY billing_accounts_isolation ON billing_accounts TO app_user
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
--> statement-breakpoint
CREATE POLICY stripe_events_isolation ON stripe_events TO app_user
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
--> statement-breakpoint
-- A Stripe webhook names a customer, not a tenant: this answers the one tenant that customer belongs to
-- (and nothing else), so the webhook can then work inside that tenant like any request.
CREATE OR REPLACE FUNCTION billing_tenant_of_customer(customer text) RETURNS uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
  AS $$ SELECT tenant_id FROM billing_accounts WHERE stripe_customer_id = customer $$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION billing_tenant_of_customer(text) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION billing_tenant_of_customer(text) TO app_user;
--> statement-breakpoint
-- Platform admins set a tenant's plan and adjust its credits in one transaction with the record of
-- their action: as app_admin, in the tenant's context, admitted only when flagged in the database.
GRANT SELECT, INSERT, UPDATE ON billing_accounts, credit_balances, credit_lots, credit_reservations TO app_admin;
--> statement-breakpoint
GRANT SELECT, INSERT ON credit_ledger, events TO app_admin;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON event_sequences TO app_admin;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION current_api_key_id(), current_session_id() TO app_admin;
--> statement-breakpoint
CREATE POLICY billing_accounts_platform_admin ON billing_accounts TO app_admin
  USING (acting_platform_admin())
  WITH CHECK (tenant_id = current_tenant_id() AND acting_platform_admin());
--> statement-breakpoint
CREATE POLICY credit_balances_platform_admin ON credit_balances TO app_admin
  USING (tenant_id = current_tenant_id() AND acting_platform_admin())
  WITH CHECK (tenant_id = current_tenant_id() AND acting_platform_admin());
--> statement-breakpoint
CREATE POLICY credit_lots_platform_admin ON credit_lots TO app_admin
  USING (tenant_id = current_tenant_id() AND acting_platform_admin())
  WITH CHECK (tenant_id = current_tenant_id() AND acting_platform_admin());
--> statement-breakpoint
CREATE POLICY credit_reservations_platform_admin ON credit_reservations TO app_admin
  USING (tenant_id = current_tenant_id() AND acting_platform_admin())
  WITH CHECK (tenant_id = current_tenant_id() AND acting_platform_admin());
--> statement-breakpoint
CREATE POLICY credit_ledger_platform_admin ON credit_ledger TO app_admin
  USING (tenant_id = current_tenant_id() AND acting_platform_admin())
  WITH CHECK (tenant_id = current_tenant_id() AND acting_platform_admin());
--> statement-breakpoint
CREATE POLICY events_platform_admin ON events TO app_admin
  USING (tenant_id = current_tenant_id() AND acting_platform_admin())
  WITH CHECK (tenant_id = current_tenant_id() AND acting_platform_admin());
--> statement-breakpoint
CREATE POLICY event_sequences_platform_admin ON event_sequences TO app_admin
  USING (tenant_id = current_tenant_id() AND acting_platform_admin())
  WITH CHECK (tenant_id = current_tenant_id() AND acting_platform_admin());
--> statement-breakpoint
-- The same publish_event, now also saying when a platform admin (not a member) caused the event.
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
      WHEN acting_user IS NOT NULL AND current_user = 'app_admin' THEN jsonb_build_object('type', 'platform_admin', 'id', acting_user)
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
GRANT EXECUTE ON FUNCTION publish_event(uuid, text, smallint, jsonb) TO app_admin;
