-- consume_credits() records the consumption's audit entry itself (append_audit_entry, decision 0017), so
-- a consumption stays one statement: the entry commits with the ledger entry, the event and the answer.
-- A replay, a refusal (402) or a reused key (409) records nothing: nothing changed.
DROP FUNCTION consume_credits(uuid, bigint, text, jsonb, jsonb, text, text, uuid, uuid, text, text, text);
--> statement-breakpoint
CREATE FUNCTION consume_credits(
  p_tenant uuid,
  p_amount bigint,
  p_reason text,
  p_metadata jsonb,
  p_actor jsonb,
  p_key text,
  p_request_hash text,
  p_consumed_event_id uuid,
  p_low_balance_event_id uuid,
  p_marker text,
  p_success_template text,
  p_refusal_template text,
  p_audit_id uuid,
  p_audit_at timestamptz,
  p_audit_actor jsonb,
  p_audit_context jsonb,
  p_audit_metadata jsonb,
  p_audit_canonical text
) RETURNS TABLE (status integer, body text, replayed boolean)
  LANGUAGE plpgsql
  AS $$
DECLARE
  v_balance bigint;
  v_threshold bigint;
  v_below boolean;
  v_lots_due boolean;
  v_reservations_due boolean;
  v_stored idempotency_keys%ROWTYPE;
  v_left bigint := p_amount;
  v_take bigint;
  v_lot record;
  v_after bigint;
  v_now timestamptz;
  v_id uuid;
  v_body text;
BEGIN
  INSERT INTO credit_balances AS b (tenant_id) VALUES (p_tenant)
    ON CONFLICT (tenant_id) DO UPDATE SET tenant_id = excluded.tenant_id
    RETURNING b.balance, b.low_balance_threshold, b.below_threshold,
      EXISTS (SELECT 1 FROM credit_lots l
              WHERE l.tenant_id = p_tenant AND l.remaining > 0 AND l.expires_at <= now()),
      EXISTS (SELECT 1 FROM credit_reservations r
              WHERE r.tenant_id = p_tenant AND r.status = 'held' AND r.expires_at <= now())
    INTO v_balance, v_threshold, v_below, v_lots_due, v_reservations_due;
  IF v_lots_due OR v_reservations_due THEN
    RETURN QUERY SELECT 0, NULL::text, false;
    RETURN;
  END IF;

  SELECT * INTO v_stored FROM idempotency_keys k WHERE k.tenant_id = p_tenant AND k.key = p_key;
  IF FOUND THEN
    IF v_stored.request_hash <> p_request_hash THEN
      RETURN QUERY SELECT 409, NULL::text, false;
    ELSE
      RETURN QUERY SELECT v_stored.status, v_stored.response_body, true;
    END IF;
    RETURN;
  END IF;

  IF v_balance < p_amount THEN
    v_body := replace(replace(p_refusal_template, '"' || p_marker || 'b"', v_balance::text),
                      p_marker || 'b', v_balance::text);
    INSERT INTO idempotency_keys (tenant_id, key, request_hash, status, response_body)
      VALUES (p_tenant, p_key, p_request_hash, 402, v_body);
    RETURN QUERY SELECT 402, v_body, false;
    RETURN;
  END IF;

  FOR v_lot IN
    SELECT l.id, l.remaining FROM credit_lots l
    WHERE l.tenant_id = p_tenant AND l.remaining > 0 AND (l.expires_at IS NULL OR l.expires_at > now())
    ORDER BY l.expires_at ASC NULLS LAST, l.created_at ASC
    FOR UPDATE
  LOOP
    EXIT WHEN v_left = 0;
    v_take := least(v_left, v_lot.remaining);
    UPDATE credit_lots SET remaining = remaining - v_take WHERE id = v_lot.id;
    v_left := v_left - v_take;
  END LOOP;
  IF v_left <> 0 THEN
    RAISE EXCEPTION 'credit lots of tenant % hold less than its balance', p_tenant;
  END IF;

  v_after := v_balance - p_amount;
  v_now := clock_timestamp();
  v_id := uuidv7_at(v_now);
  v_body := replace(replace(replace(p_success_template,
    '"' || p_marker || 'b"', v_after::text),
    p_marker || 't', to_char(v_now AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
    p_marker || 'i', v_id::text);
  INSERT INTO credit_ledger (id, tenant_id, type, amount, balance_after, reason, metadata, actor, idempotency_key, created_at)
    VALUES (v_id, p_tenant, 'consume', -p_amount, v_after, p_reason, p_metadata, p_actor, p_key, v_now);
  PERFORM publish_event(p_consumed_event_id, 'credits.consumed', 1::smallint, v_body::jsonb);
  -- The audit entry of the consumption (the application computed its canonical form with the marker
  -- where the ledger entry's id stands; the digest is taken once the id is known).
  PERFORM append_audit_entry(p_tenant, p_audit_id, p_audit_at, 'credits.consumed',
    p_audit_actor->>'type', p_audit_actor->>'id', p_audit_actor->>'name',
    jsonb_build_array(jsonb_build_object('type', 'credit_transaction', 'id', v_id::text, 'name', NULL)),
    p_audit_context, '{}'::jsonb, p_audit_metadata, 'success',
    sha256(convert_to(replace(p_audit_canonical, p_marker || 'i', v_id::text), 'UTF8')), gen_random_uuid());
  UPDATE credit_balances
    SET balance = v_after,
        below_threshold = (v_threshold IS NOT NULL AND v_after < v_threshold),
        updated_at = v_now
    WHERE tenant_id = p_tenant;
  IF v_threshold IS NOT NULL AND v_after < v_threshold AND NOT v_below THEN
    PERFORM publish_event(p_low_balance_event_id, 'credits.low_balance', 1::smallint,
      jsonb_build_object('balance', v_after, 'threshold', v_threshold));
  END IF;
  INSERT INTO idempotency_keys (tenant_id, key, request_hash, status, response_body)
    VALUES (p_tenant, p_key, p_request_hash, 201, v_body);
  RETURN QUERY SELECT 201, v_body, false;
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION consume_credits(uuid, bigint, text, jsonb, jsonb, text, text, uuid, uuid, text, text, text, uuid, timestamptz, jsonb, jsonb, jsonb, text) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION consume_credits(uuid, bigint, text, jsonb, jsonb, text, text, uuid, uuid, text, text, text, uuid, timestamptz, jsonb, jsonb, jsonb, text) TO app_user;
