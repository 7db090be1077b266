-- The platform console lists every tenant with its credit balance: platform admins read balances across
-- tenants (as they read billing accounts), and still change one only acting in its tenant.
CREATE POLICY credit_balances_platform_admin_read ON credit_balances FOR SELECT TO app_admin
  USING (acting_platform_admin());
