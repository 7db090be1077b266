-- Access is decided by Postgres on every request, inside the request's own transaction (decision 0007).
CREATE OR REPLACE FUNCTION current_session_id() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT nullif(current_setting('app.session_id', true), '')::uuid $$;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION current_session_id() TO app_user, app_identity;
--> statement-breakpoint

-- roles: a tenant sees the built-in roles and its own; it can change only its own.
ALTER TABLE roles ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE roles FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON roles TO app_user;
--> statement-breakpoint
GRANT SELECT ON roles TO app_identity;
--> statement-breakpoint
CREATE POLICY roles_visible ON roles FOR SELECT TO app_user
  USING (tenant_id IS NULL OR tenant_id = current_tenant_id());
--> statement-breakpoint
CREATE POLICY roles_own ON roles TO app_user
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
--> statement-breakpoint
CREATE POLICY roles_of_identity ON roles FOR SELECT TO app_identity
  USING (tenant_id IS NULL OR tenant_id IN (SELECT tenant_id FROM memberships WHERE user_id = current_user_id()));
--> statement-breakpoint

-- role_assignments: an assignment may only name a role its tenant can see (built-in or its own), so a
-- tenant cannot grant another tenant's custom role, whatever the application does.
ALTER TABLE role_assignments ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE role_assignments FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON role_assignments TO app_user;
--> statement-breakpoint
GRANT SELECT ON role_assignments TO app_identity;
--> statement-breakpoint
CREATE POLICY role_assignments_isolation ON role_assignments TO app_user
  USING (tenant_id = current_tenant_id())
  WITH CHECK (tenant_id = current_tenant_id() AND EXISTS (SELECT 1 FROM roles r WHERE r.id = role_id));
--> statement-breakpoint
CREATE POLICY role_assignments_of_identity ON role_assignments FOR SELECT TO app_identity
  USING (user_id = current_user_id());
--> statement-breakpoint

-- A request may read its own person's sessions, to check that the session behind its token is live.
GRANT SELECT ON sessions TO app_user;
--> statement-breakpoint
CREATE POLICY sessions_of_acting_user ON sessions FOR SELECT TO app_user USING (user_id = current_user_id());
--> statement-breakpoint

-- Raises WR401 when the acting person has no active membership in an active tenant, or the session
-- behind the token has ended; WR403 when `required_permission` is not granted tenant-wide or on
-- `target_organization` or one of its ancestors. Pipelined before a request's statements: once it
-- raises, Postgres runs none of the statements that follow in the transaction.
CREATE OR REPLACE FUNCTION require_access(required_permission text, target_organization uuid)
  RETURNS boolean
  LANGUAGE plpgsql
  AS $$
DECLARE
  acting_user uuid := current_user_id();
  acting_tenant uuid := current_tenant_id();
  acting_session uuid := current_session_id();
BEGIN
  IF acting_user IS NULL OR acting_tenant IS NULL THEN
    RAISE EXCEPTION 'no acting person or tenant' USING ERRCODE = 'WR401';
  END IF;
  IF NOT EXISTS (
    SELECT 1 FROM memberships m JOIN tenants t ON t.id = m.tenant_id
    WHERE m.tenant_id = acting_tenant AND m.user_id = acting_user AND m.status = 'active' AND t.status = 'active'
  ) THEN
    RAISE EXCEPTION 'no active membership in this tenant' USING ERRCODE = 'WR401';
  END IF;
  IF acting_session IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM sessions s
    WHERE s.id = acting_session AND s.user_id = acting_user AND s.revoked_at IS NULL AND s.expires_at > now()
  ) THEN
    RAISE EXCEPTION 'the session has ended' USING ERRCODE = 'WR401';
  END IF;
  IF required_permission IS NULL THEN
    RETURN true;
  END IF;
  IF EXISTS (
    SELECT 1 FROM role_assignments a JOIN roles r ON r.id = a.role_id
    WHERE a.tenant_id = acting_tenant AND a.user_id = acting_user
      AND required_permission = ANY (r.permissions)
      AND (
        a.organization_id IS NULL
        OR a.organization_id IN (
          WITH RECURSIVE ancestors(id, parent_id, depth) AS (
            SELECT o.id, o.parent_id, 0 FROM organizations o WHERE o.id = target_organization
            UNION ALL
            SELECT o.id, o.parent_id, ancestors.depth + 1
            FROM organizations o JOIN ancestors ON o.id = ancestors.parent_id
            WHERE ancestors.depth < 1000
          )
          SELECT id FROM ancestors
        )
      )
  ) THEN
    RETURN true;
  END IF;
  RAISE EXCEPTION 'the "%" permission is required', required_permission USING ERRCODE = 'WR403';
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION require_access(text, uuid) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION require_access(text, uuid) TO app_user;
