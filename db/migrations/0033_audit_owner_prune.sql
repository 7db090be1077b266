-- Decision 0017. prune_audit_entries() runs as the owner (SECURITY DEFINER), and row-level security is
-- forced on the audit tables, the owner included: without a policy of its own, the owner (when it is
-- not a superuser, as on managed Postgres) would see no checkpoint and remove no entry.
CREATE POLICY audit_entries_owner_prune ON audit_entries FOR DELETE TO CURRENT_USER USING (true);
--> statement-breakpoint
CREATE POLICY audit_entries_owner_read ON audit_entries FOR SELECT TO CURRENT_USER USING (true);
--> statement-breakpoint
CREATE POLICY audit_checkpoints_owner_read ON audit_checkpoints FOR SELECT TO CURRENT_USER USING (true);
--> statement-breakpoint
-- Checkpoints are written by the checkpoint and retention jobs as app_audit only: a request role could
-- not sign one, and a row it wrote would only make the verifier report a forged checkpoint.
REVOKE INSERT ON audit_checkpoints FROM app_user, app_admin;
