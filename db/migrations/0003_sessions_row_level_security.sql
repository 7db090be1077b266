-- Sessions and refresh tokens belong to a person across tenants. Only the identity role (sign-in,
-- refresh, logout, the session list) touches them; tenant requests (app_user) have no grant at all.
ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE sessions FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE refresh_tokens ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE refresh_tokens FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON sessions, refresh_tokens TO app_identity;
--> statement-breakpoint
-- A refresh arrives with only a token: the identity role finds it by hash before any user is known.
CREATE POLICY sessions_identity ON sessions TO app_identity USING (true) WITH CHECK (true);
--> statement-breakpoint
CREATE POLICY refresh_tokens_identity ON refresh_tokens TO app_identity USING (true) WITH CHECK (true);
