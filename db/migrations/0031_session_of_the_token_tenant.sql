-- A token's session must be the session of the token's tenant: a session moved to tenant B (switch-tenant)
-- no longer admits an access token still naming tenant A, and a token minted with another tenant's claims
-- around a live session fails even when the person is a member of both (defence in depth behind the
-- signing key). Otherwise require_access is unchanged from 0008.
CREATE OR REPLACE FUNCTION require_access(required_permission text, target_organization uuid)
  RETURNS boolean
  LANGUAGE plpgsql
  SET plan_cache_mode = force_generic_plan
  AS $$
DECLARE
  acting_user uuid := current_user_id();
  acting_tenant uuid := current_tenant_id();
  acting_session uuid := current_session_id();
  acting_key uuid := current_api_key_id();
  is_member boolean;
  credential_live boolean;
  key_in_scope boolean;
  granted boolean;
BEGIN
  IF acting_user IS NULL OR acting_tenant IS NULL THEN
    RAISE EXCEPTION 'no acting person or tenant' USING ERRCODE = 'WR401';
  END IF;
  SELECT
    EXISTS (
      SELECT 1 FROM memberships m JOIN tenants t ON t.id = m.tenant_id
      WHERE m.tenant_id = acting_tenant AND m.user_id = acting_user AND m.status = 'active' AND t.status = 'active'
    ),
    (acting_session IS NULL OR EXISTS (
      SELECT 1 FROM sessions s
      WHERE s.id = acting_session AND s.user_id = acting_user AND s.tenant_id = acting_tenant
        AND s.revoked_at IS NULL AND s.expires_at > now()
    ))
    AND (acting_key IS NULL OR EXISTS (
      SELECT 1 FROM api_keys k
      WHERE k.id = acting_key AND k.created_by = acting_user AND k.revoked_at IS NULL
        AND (k.expires_at IS NULL OR k.expires_at > now())
    )),
    acting_key IS NULL OR required_permission IS NULL OR EXISTS (
      SELECT 1 FROM api_keys k WHERE k.id = acting_key AND required_permission = ANY (k.scopes)
    ),
    required_permission IS NULL OR EXISTS (
      SELECT 1 FROM role_assignments a JOIN roles r ON r.id = a.role_id
      WHERE a.tenant_id = acting_tenant AND a.user_id = acting_user
        AND required_permission = ANY (r.permissions)
        AND (
          a.organization_id IS NULL
          OR (target_organization IS NOT NULL AND a.organization_id IN (
            WITH RECURSIVE ancestors(id, parent_id, depth) AS (
              SELECT o.id, o.parent_id, 0 FROM organizations o WHERE o.id = target_organization
              UNION ALL
              SELECT o.id, o.parent_id, ancestors.depth + 1
              FROM organizations o JOIN ancestors ON o.id = ancestors.parent_id
              WHERE ancestors.depth < 1000
            )
            SELECT id FROM ancestors
          ))
        )
    )
  INTO is_member, credential_live, key_in_scope, granted;
  IF NOT is_member THEN
    RAISE EXCEPTION 'no active membership in this tenant' USING ERRCODE = 'WR401';
  END IF;
  IF NOT credential_live THEN
    RAISE EXCEPTION 'the session or API key has ended' USING ERRCODE = 'WR401';
  END IF;
  IF NOT key_in_scope THEN
    RAISE EXCEPTION 'the "%" permission is outside this API key''s scopes', required_permission USING ERRCODE = 'WR403';
  END IF;
  IF NOT granted THEN
    RAISE EXCEPTION 'the "%" permission is required', required_permission USING ERRCODE = 'WR403';
  END IF;
  RETURN true;
END
$$;
