-- Linked provider accounts belong to a person, not a tenant: only the identity role finds and links them.
ALTER TABLE user_identities ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE user_identities FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE (email, last_sign_in_at) ON user_identities TO app_identity;
--> statement-breakpoint
CREATE POLICY user_identities_identity ON user_identities TO app_identity USING (true) WITH CHECK (true);
