ALTER TABLE "event_sequences" ADD COLUMN "pruned_seq" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "events_occurred_at_idx" ON "events" USING btree ("occurred_at");--> statement-breakpoint
-- Events older than the retention are deleted once relayed (never before), oldest first, a batch at a
-- time; each tenant's pruned_seq says from where its log is complete, so a replay asking for less
-- is told (410 events-pruned) instead of silently getting a gap. Runs as the owner, called by the relay
-- role; one pruner at a time (a second call answers 0 at once).
CREATE OR REPLACE FUNCTION prune_events(keep_for interval, max_rows integer) RETURNS integer
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
  AS $$
DECLARE
  removed integer;
BEGIN
  IF NOT pg_try_advisory_xact_lock(hashtext('wrapper:prune-events')) THEN
    RETURN 0;
  END IF;
  WITH doomed AS (
    SELECT e.tenant_id, e.seq FROM events e
    JOIN event_relay_positions p ON p.tenant_id = e.tenant_id AND e.seq <= p.relayed_seq
    WHERE e.occurred_at < now() - keep_for
    ORDER BY e.occurred_at
    LIMIT max_rows
  ), gone AS (
    DELETE FROM events e USING doomed d
    WHERE e.tenant_id = d.tenant_id AND e.seq = d.seq
    RETURNING e.tenant_id, e.seq
  ), marked AS (
    UPDATE event_sequences s SET pruned_seq = greatest(s.pruned_seq, m.top)
    FROM (SELECT tenant_id, max(seq) AS top FROM gone GROUP BY tenant_id) m
    WHERE s.tenant_id = m.tenant_id
    RETURNING s.tenant_id
  )
  SELECT count(*) INTO removed FROM gone;
  RETURN removed;
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION prune_events(interval, integer) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION prune_events(interval, integer) TO app_relay;
--> statement-breakpoint
CREATE POLICY events_owner_prune ON events FOR ALL TO CURRENT_USER USING (true) WITH CHECK (true);
--> statement-breakpoint
CREATE POLICY event_sequences_owner_prune ON event_sequences FOR ALL TO CURRENT_USER USING (true) WITH CHECK (true);
--> statement-breakpoint
CREATE POLICY event_relay_positions_owner_read ON event_relay_positions FOR SELECT TO CURRENT_USER USING (true);
