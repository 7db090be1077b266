-- Credits are tenant data. The ledger is append-only for every request role: INSERT and SELECT only.
ALTER TABLE credit_balances ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE credit_balances FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE credit_lots ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE credit_lots FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE credit_ledger ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE credit_ledger FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE idempotency_keys FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON credit_balances, credit_lots TO app_user;
--> statement-breakpoint
GRANT SELECT, INSERT ON credit_ledger, idempotency_keys TO app_user;
--> statement-breakpoint
CREATE POLICY credit_balances_isolation ON credit_balances TO app_user
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
--> statement-breakpoint
CREATE POLICY credit_lots_isolation ON credit_lots TO app_user
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
--> statement-breakpoint
CREATE POLICY credit_ledger_isolation ON credit_ledger TO app_user
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
--> statement-breakpoint
CREATE POLICY idempotency_keys_isolation ON idempotency_keys TO app_user
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
