-- Reservations are tenant data, like the rest of the credits.
ALTER TABLE credit_reservations ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE credit_reservations FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON credit_reservations TO app_user;
--> statement-breakpoint
CREATE POLICY credit_reservations_isolation ON credit_reservations TO app_user
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
