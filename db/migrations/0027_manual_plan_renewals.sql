-- Plans set by a platform admin renew every 30 days with their allowance (Stripe renews its own). The
-- renewal job needs to know which tenants are due without reading any tenant's data: this answers
-- tenant ids only, then each renewal runs inside its tenant like a request.
CREATE OR REPLACE FUNCTION billing_manual_renewals_due(max_tenants integer) RETURNS SETOF uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
  AS $$
    SELECT tenant_id FROM billing_accounts
    WHERE source = 'manual' AND status = 'active' AND plan_id IS NOT NULL AND current_period_end <= now()
    ORDER BY current_period_end
    LIMIT max_tenants
  $$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION billing_manual_renewals_due(integer) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION billing_manual_renewals_due(integer) TO app_user;
