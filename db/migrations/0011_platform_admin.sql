-- Platform administration runs as its own role, app_admin, never as a tenant or as the owner. Its
-- policies admit only a person flagged as platform admin in the database, whatever the application does.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app_admin') THEN
    CREATE ROLE app_admin NOLOGIN NOBYPASSRLS;
  END IF;
END
$$;
--> statement-breakpoint
GRANT app_admin TO CURRENT_USER;
--> statement-breakpoint
GRANT USAGE ON SCHEMA public TO app_admin;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION current_user_id(), current_tenant_id() TO app_admin;
--> statement-breakpoint
GRANT SELECT (id, is_platform_admin) ON users TO app_admin;
--> statement-breakpoint
CREATE POLICY users_admin_self ON users FOR SELECT TO app_admin USING (id = current_user_id());
--> statement-breakpoint
CREATE OR REPLACE FUNCTION acting_platform_admin() RETURNS boolean
  LANGUAGE sql STABLE
  AS $$ SELECT coalesce((SELECT is_platform_admin FROM users WHERE id = current_user_id()), false) $$;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION acting_platform_admin() TO app_admin;
--> statement-breakpoint
GRANT SELECT, UPDATE (status, updated_at) ON tenants TO app_admin;
--> statement-breakpoint
CREATE POLICY tenants_platform_admin ON tenants TO app_admin
  USING (acting_platform_admin()) WITH CHECK (acting_platform_admin());
--> statement-breakpoint
GRANT SELECT ON memberships TO app_admin;
--> statement-breakpoint
CREATE POLICY memberships_platform_admin ON memberships FOR SELECT TO app_admin USING (acting_platform_admin());
--> statement-breakpoint
ALTER TABLE admin_actions ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE admin_actions FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
GRANT SELECT, INSERT ON admin_actions TO app_admin;
--> statement-breakpoint
CREATE POLICY admin_actions_platform_admin ON admin_actions TO app_admin
  USING (acting_platform_admin())
  WITH CHECK (acting_platform_admin() AND admin_user_id = current_user_id());
--> statement-breakpoint
-- The platform-admin flag is written by nobody but the owner (the admin:create command): the request
-- and identity roles keep only the columns they need.
REVOKE UPDATE ON users FROM app_identity;
--> statement-breakpoint
GRANT UPDATE (name, password_hash, email_verified_at, updated_at) ON users TO app_identity;
--> statement-breakpoint
-- Inserts name every column (with DEFAULT), so the identity role keeps INSERT; a new person is never
-- created as a platform admin.
DROP POLICY users_identity ON users;
--> statement-breakpoint
CREATE POLICY users_identity_read ON users FOR SELECT TO app_identity USING (true);
--> statement-breakpoint
CREATE POLICY users_identity_insert ON users FOR INSERT TO app_identity WITH CHECK (NOT is_platform_admin);
--> statement-breakpoint
CREATE POLICY users_identity_update ON users FOR UPDATE TO app_identity USING (true) WITH CHECK (true);
--> statement-breakpoint
REVOKE UPDATE ON users FROM app_user;
--> statement-breakpoint
GRANT UPDATE (name, updated_at) ON users TO app_user;
--> statement-breakpoint
-- An administrator's session must be live too (a logout ends admin access at once).
GRANT SELECT ON sessions TO app_admin;
--> statement-breakpoint
CREATE POLICY sessions_of_admin ON sessions FOR SELECT TO app_admin USING (user_id = current_user_id());
