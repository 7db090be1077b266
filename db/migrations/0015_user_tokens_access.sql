-- Emailed tokens belong to a person, not a tenant: only the identity role reads and spends them.
ALTER TABLE user_tokens ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE user_tokens FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON user_tokens TO app_identity;
--> statement-breakpoint
CREATE POLICY user_tokens_identity ON user_tokens TO app_identity USING (true) WITH CHECK (true);
