CREATE INDEX "stripe_events_tenant_id_idx" ON "stripe_events" USING btree ("tenant_id","created_at");--> statement-breakpoint
-- Functions that run as the owner (SECURITY DEFINER) read billing accounts across tenants. Row-level
-- security is forced on the owner's tables, and a non-superuser owner (managed Postgres) has no
-- policy of its own: without this one those functions would see no row at all.
CREATE POLICY billing_accounts_owner_read ON billing_accounts FOR SELECT TO CURRENT_USER USING (true);
