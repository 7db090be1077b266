CREATE TABLE "webhook_attempts" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"delivery_id" uuid NOT NULL,
	"endpoint_id" uuid NOT NULL,
	"attempt" integer NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"duration_ms" integer NOT NULL,
	"status_code" integer,
	"error_class" text,
	"error" text,
	"response_excerpt" text,
	"node" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "webhook_cursors" (
	"tenant_id" uuid PRIMARY KEY NOT NULL,
	"last_seq" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "webhook_deliveries" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"endpoint_id" uuid NOT NULL,
	"event_id" uuid NOT NULL,
	"event_seq" bigint NOT NULL,
	"event_type" text NOT NULL,
	"replay_of" uuid,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone,
	"lease_until" timestamp with time zone,
	"lease_owner" text,
	"last_attempt_at" timestamp with time zone,
	"last_status_code" integer,
	"last_error" text,
	"succeeded_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "webhook_deliveries_tenant_id_id_key" UNIQUE("tenant_id","id"),
	CONSTRAINT "webhook_deliveries_status" CHECK ("webhook_deliveries"."status" in ('pending', 'succeeded', 'failed', 'cancelled'))
);
--> statement-breakpoint
CREATE TABLE "webhook_endpoints" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"url" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"event_types" text[],
	"enabled" boolean DEFAULT true NOT NULL,
	"disabled_reason" text,
	"disabled_at" timestamp with time zone,
	"rate_limit" integer,
	"rate_window_start" timestamp with time zone,
	"rate_window_count" integer DEFAULT 0 NOT NULL,
	"ordering" text DEFAULT 'none' NOT NULL,
	"secret" text NOT NULL,
	"previous_secret" text,
	"previous_secret_expires_at" timestamp with time zone,
	"after_seq" bigint NOT NULL,
	"failing_since" timestamp with time zone,
	"given_up_in_a_row" integer DEFAULT 0 NOT NULL,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "webhook_endpoints_tenant_id_id_key" UNIQUE("tenant_id","id"),
	CONSTRAINT "webhook_endpoints_ordering" CHECK ("webhook_endpoints"."ordering" in ('none', 'per-endpoint')),
	CONSTRAINT "webhook_endpoints_rate_limit" CHECK ("webhook_endpoints"."rate_limit" is null or "webhook_endpoints"."rate_limit" > 0)
);
--> statement-breakpoint
CREATE TABLE "webhook_messages" (
	"tenant_id" uuid NOT NULL,
	"event_id" uuid NOT NULL,
	"event_seq" bigint NOT NULL,
	"event_type" text NOT NULL,
	"body" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "webhook_messages_pkey" PRIMARY KEY("tenant_id","event_id")
);
--> statement-breakpoint
ALTER TABLE "webhook_attempts" ADD CONSTRAINT "webhook_attempts_delivery_fk" FOREIGN KEY ("tenant_id","delivery_id") REFERENCES "public"."webhook_deliveries"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_cursors" ADD CONSTRAINT "webhook_cursors_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_endpoint_fk" FOREIGN KEY ("tenant_id","endpoint_id") REFERENCES "public"."webhook_endpoints"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_message_fk" FOREIGN KEY ("tenant_id","event_id") REFERENCES "public"."webhook_messages"("tenant_id","event_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_endpoints" ADD CONSTRAINT "webhook_endpoints_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_endpoints" ADD CONSTRAINT "webhook_endpoints_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_messages" ADD CONSTRAINT "webhook_messages_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "webhook_attempts_delivery_idx" ON "webhook_attempts" USING btree ("tenant_id","delivery_id","attempt");--> statement-breakpoint
CREATE INDEX "webhook_attempts_endpoint_idx" ON "webhook_attempts" USING btree ("endpoint_id","started_at");--> statement-breakpoint
CREATE UNIQUE INDEX "webhook_deliveries_first_key" ON "webhook_deliveries" USING btree ("endpoint_id","event_id") WHERE "webhook_deliveries"."replay_of" is null;--> statement-breakpoint
CREATE INDEX "webhook_deliveries_due_idx" ON "webhook_deliveries" USING btree ("next_attempt_at") WHERE "webhook_deliveries"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "webhook_deliveries_endpoint_pending_idx" ON "webhook_deliveries" USING btree ("endpoint_id","event_seq") WHERE "webhook_deliveries"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "webhook_deliveries_tenant_idx" ON "webhook_deliveries" USING btree ("tenant_id","id");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_endpoint_idx" ON "webhook_deliveries" USING btree ("endpoint_id","id");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_message_idx" ON "webhook_deliveries" USING btree ("tenant_id","event_id");--> statement-breakpoint
CREATE INDEX "webhook_messages_created_at_idx" ON "webhook_messages" USING btree ("created_at");--> statement-breakpoint
-- Outgoing webhooks (decision 0018). Request roles see and change their tenant's endpoints, deliveries and
-- attempts only; the dispatcher works in each tenant the same way, and finds what is due across tenants
-- through the two owner functions below, which answer ids and nothing else.
ALTER TABLE webhook_endpoints ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE webhook_endpoints FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE webhook_cursors ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE webhook_cursors FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE webhook_messages ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE webhook_messages FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE webhook_deliveries ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE webhook_deliveries FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE webhook_attempts ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE webhook_attempts FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_endpoints TO app_user;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON webhook_cursors TO app_user;
--> statement-breakpoint
GRANT SELECT, INSERT ON webhook_messages TO app_user;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON webhook_deliveries TO app_user;
--> statement-breakpoint
GRANT SELECT, INSERT ON webhook_attempts TO app_user;
--> statement-breakpoint
CREATE POLICY webhook_endpoints_isolation ON webhook_endpoints TO app_user
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
--> statement-breakpoint
CREATE POLICY webhook_cursors_isolation ON webhook_cursors TO app_user
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
--> statement-breakpoint
CREATE POLICY webhook_messages_isolation ON webhook_messages TO app_user
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
--> statement-breakpoint
CREATE POLICY webhook_deliveries_isolation ON webhook_deliveries TO app_user
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
--> statement-breakpoint
CREATE POLICY webhook_attempts_isolation ON webhook_attempts TO app_user
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
--> statement-breakpoint
-- Tenants whose log has events not yet fanned out to their endpoints (a lost bus entry, a node that died).
CREATE OR REPLACE FUNCTION webhook_fanout_due(max_count integer)
  RETURNS SETOF uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
  AS $$
  SELECT c.tenant_id FROM webhook_cursors c
    JOIN event_sequences s ON s.tenant_id = c.tenant_id
   WHERE s.last_seq > c.last_seq
     AND EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.tenant_id = c.tenant_id AND e.enabled)
   LIMIT max_count
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION webhook_fanout_due(integer) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION webhook_fanout_due(integer) TO app_user;
--> statement-breakpoint
-- Leases up to max_count due deliveries to one node for lease_seconds and answers them. A delivery is due
-- when pending, its time has come, no lease is live on it and its endpoint is enabled; on an endpoint
-- ordered `per-endpoint`, only the oldest pending delivery (by seq) is ever due, so a failing one holds
-- the later ones back. SKIP LOCKED lets nodes claim side by side without waiting for each other. An
-- endpoint with a rate limit counts the deliveries started in its current one-second window (on its own
-- row, so every node counts the same); beyond the limit a delivery waits for the next window.
CREATE OR REPLACE FUNCTION webhook_deliveries_claim(node text, lease_seconds integer, max_count integer)
  RETURNS TABLE (tenant_id uuid, delivery_id uuid)
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public
  AS $$
DECLARE
  candidate record;
  claimed integer := 0;
BEGIN
  FOR candidate IN
    SELECT d.id, d.tenant_id, d.endpoint_id, e.rate_limit FROM webhook_deliveries d
      JOIN webhook_endpoints e ON e.tenant_id = d.tenant_id AND e.id = d.endpoint_id
     WHERE d.status = 'pending' AND d.next_attempt_at <= now()
       AND (d.lease_until IS NULL OR d.lease_until < now())
       AND e.enabled
       -- An endpoint whose window is full is left out, so it cannot crowd the others out of the batch.
       AND (e.rate_limit IS NULL OR e.rate_window_start IS NULL
            OR e.rate_window_start <= clock_timestamp() - interval '1 second'
            OR e.rate_window_count < e.rate_limit)
       AND (e.ordering = 'none' OR NOT EXISTS (
             SELECT 1 FROM webhook_deliveries o
              WHERE o.endpoint_id = d.endpoint_id AND o.status = 'pending'
                AND (o.event_seq, o.id) < (d.event_seq, d.id)))
     ORDER BY d.next_attempt_at
     LIMIT max_count * 4
     FOR UPDATE OF d SKIP LOCKED
  LOOP
    EXIT WHEN claimed >= max_count;
    IF candidate.rate_limit IS NOT NULL THEN
      UPDATE webhook_endpoints w
         SET rate_window_start = CASE WHEN w.rate_window_start IS NULL OR w.rate_window_start <= clock_timestamp() - interval '1 second'
                                      THEN clock_timestamp() ELSE w.rate_window_start END,
             rate_window_count = CASE WHEN w.rate_window_start IS NULL OR w.rate_window_start <= clock_timestamp() - interval '1 second'
                                      THEN 1 ELSE w.rate_window_count + 1 END
       WHERE w.id = candidate.endpoint_id
         AND (w.rate_window_start IS NULL OR w.rate_window_start <= clock_timestamp() - interval '1 second'
              OR w.rate_window_count < w.rate_limit);
      CONTINUE WHEN NOT FOUND;
    END IF;
    UPDATE webhook_deliveries d
       SET lease_until = now() + make_interval(secs => lease_seconds), lease_owner = node
     WHERE d.id = candidate.id;
    tenant_id := candidate.tenant_id;
    delivery_id := candidate.id;
    claimed := claimed + 1;
    RETURN NEXT;
  END LOOP;
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION webhook_deliveries_claim(text, integer, integer) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION webhook_deliveries_claim(text, integer, integer) TO app_user;
--> statement-breakpoint
-- What /metrics shows of the delivery queue, across tenants: counts and an age, no content.
CREATE OR REPLACE FUNCTION webhook_delivery_backlog()
  RETURNS TABLE (pending bigint, due bigint, oldest_due_seconds double precision)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
  AS $$
  SELECT count(*),
         count(*) FILTER (WHERE next_attempt_at <= now()),
         coalesce(extract(epoch FROM now() - min(next_attempt_at) FILTER (WHERE next_attempt_at <= now())), 0)::double precision
    FROM webhook_deliveries WHERE status = 'pending'
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION webhook_delivery_backlog() FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION webhook_delivery_backlog() TO app_user;
--> statement-breakpoint
-- The functions above run as the owner, on whom row-level security is forced too (managed Postgres hands
-- out no superuser): these policies let them see what they are for, and nobody else gains anything.
CREATE POLICY webhook_cursors_owner ON webhook_cursors FOR SELECT TO CURRENT_USER USING (true);
--> statement-breakpoint
CREATE POLICY webhook_endpoints_owner ON webhook_endpoints FOR SELECT TO CURRENT_USER USING (true);
--> statement-breakpoint
CREATE POLICY webhook_deliveries_owner ON webhook_deliveries FOR ALL TO CURRENT_USER USING (true) WITH CHECK (true);
--> statement-breakpoint
CREATE POLICY webhook_messages_owner ON webhook_messages FOR ALL TO CURRENT_USER USING (true) WITH CHECK (true);
--> statement-breakpoint
CREATE POLICY webhook_attempts_owner ON webhook_attempts FOR ALL TO CURRENT_USER USING (true) WITH CHECK (true);
--> statement-breakpoint
-- Messages older than the retention whose deliveries are all over (succeeded, given up, cancelled) go,
-- with their deliveries and attempts; one pruner at a time.
CREATE OR REPLACE FUNCTION prune_webhook_messages(keep_for interval, max_rows integer) RETURNS integer
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
  AS $$
DECLARE
  removed integer;
BEGIN
  IF NOT pg_try_advisory_xact_lock(hashtext('wrapper:prune-webhook-messages')) THEN
    RETURN 0;
  END IF;
  WITH doomed AS (
    SELECT m.tenant_id, m.event_id FROM webhook_messages m
     WHERE m.created_at < now() - keep_for
       AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d
                        WHERE d.tenant_id = m.tenant_id AND d.event_id = m.event_id AND d.status = 'pending')
     ORDER BY m.created_at
     LIMIT max_rows
  ), gone AS (
    DELETE FROM webhook_messages m USING doomed d
     WHERE m.tenant_id = d.tenant_id AND m.event_id = d.event_id
    RETURNING 1
  )
  SELECT count(*) INTO removed FROM gone;
  RETURN removed;
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION prune_webhook_messages(interval, integer) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION prune_webhook_messages(interval, integer) TO app_user;
