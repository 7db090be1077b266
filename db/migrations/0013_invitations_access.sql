-- Invitations are tenant data; accepting one starts from its token alone, so the identity role may find
-- an invitation by token hash and mark it accepted.
ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE invitations FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON invitations TO app_user;
--> statement-breakpoint
GRANT SELECT, UPDATE (accepted_at, accepted_by) ON invitations TO app_identity;
--> statement-breakpoint
CREATE POLICY invitations_isolation ON invitations TO app_user
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
--> statement-breakpoint
CREATE POLICY invitations_identity ON invitations TO app_identity USING (true) WITH CHECK (true);
