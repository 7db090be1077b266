-- Tenant isolation is enforced here, by Postgres, not by application code (docs/decisions/0002).
-- Roles are cluster-wide, so they are created only when missing; everything else is per database.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app_user') THEN
    CREATE ROLE app_user NOLOGIN NOBYPASSRLS;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app_identity') THEN
    CREATE ROLE app_identity NOLOGIN NOBYPASSRLS;
  END IF;
END
$$;
--> statement-breakpoint
-- The connecting (migrating) role must be able to SET ROLE to the request roles.
GRANT app_user TO CURRENT_USER;
--> statement-breakpoint
GRANT app_identity TO CURRENT_USER;
--> statement-breakpoint
-- Unset or empty context yields NULL, and `tenant_id = NULL` matches nothing: no context sees nothing.
CREATE OR REPLACE FUNCTION current_tenant_id() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT nullif(current_setting('app.tenant_id', true), '')::uuid $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION current_user_id() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT nullif(current_setting('app.user_id', true), '')::uuid $$;
--> statement-breakpoint
GRANT USAGE ON SCHEMA public TO app_user, app_identity;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION current_tenant_id(), current_user_id() TO app_user, app_identity;
--> statement-breakpoint

-- tenants: a tenant sees only itself; the identity role sees the tenants its user belongs to.
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON tenants TO app_user;
--> statement-breakpoint
GRANT SELECT ON tenants TO app_identity;
--> statement-breakpoint
CREATE POLICY tenants_isolation ON tenants TO app_user
  USING (id = current_tenant_id()) WITH CHECK (id = current_tenant_id());
--> statement-breakpoint
CREATE POLICY tenants_of_identity ON tenants FOR SELECT TO app_identity
  USING (id IN (SELECT tenant_id FROM memberships WHERE user_id = current_user_id()));
--> statement-breakpoint

-- memberships
ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE memberships FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON memberships TO app_user;
--> statement-breakpoint
GRANT SELECT ON memberships TO app_identity;
--> statement-breakpoint
CREATE POLICY memberships_isolation ON memberships TO app_user
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
--> statement-breakpoint
CREATE POLICY memberships_of_identity ON memberships FOR SELECT TO app_identity
  USING (user_id = current_user_id());
--> statement-breakpoint

-- organizations
ALTER TABLE organizations ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE organizations FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON organizations TO app_user;
--> statement-breakpoint
CREATE POLICY organizations_isolation ON organizations TO app_user
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
--> statement-breakpoint

-- users are global; a tenant request sees the members of its tenant and the acting user only.
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE users FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
GRANT SELECT, UPDATE ON users TO app_user;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON users TO app_identity;
--> statement-breakpoint
CREATE POLICY users_visible_to_tenant ON users FOR SELECT TO app_user
  USING (id = current_user_id() OR EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = users.id));
--> statement-breakpoint
CREATE POLICY users_update_self ON users FOR UPDATE TO app_user
  USING (id = current_user_id()) WITH CHECK (id = current_user_id());
--> statement-breakpoint
-- The identity role (sign-up, sign-in) finds people by email before any tenant is known.
CREATE POLICY users_identity ON users TO app_identity USING (true) WITH CHECK (true);
