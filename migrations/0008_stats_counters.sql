CREATE TABLE "plan_counts" (
	"id" smallint PRIMARY KEY NOT NULL,
	"total" bigint DEFAULT 0 NOT NULL,
	"searchable" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "plan_counts_one_row" CHECK ("plan_counts"."id" = 1)
);
--> statement-breakpoint
CREATE TABLE "subscriber_counts" (
	"shard" smallint PRIMARY KEY NOT NULL,
	"active" bigint DEFAULT 0 NOT NULL,
	"unsubscribed" bigint DEFAULT 0 NOT NULL,
	"unconfirmed" bigint DEFAULT 0 NOT NULL,
	"bounced" bigint DEFAULT 0 NOT NULL,
	"junk" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "subscriber_counts_shard" CHECK ("subscriber_counts"."shard" between 0 and 31)
);
--> statement-breakpoint
-- Counters kept by statement-level triggers with transition tables: every statement that inserts,
-- updates or deletes subscribers or plans (the consumer, the plan sync, an erasure, manual SQL)
-- moves the counts in its own transaction, once per statement, whatever the number of rows.
-- A subscriber transaction adds to the shard its txid picks, so concurrent batches mostly touch
-- different rows, and each transaction locks one counter row only (see src/db/schema.ts).
CREATE FUNCTION subscriber_counts_add(d_active bigint, d_unsubscribed bigint, d_unconfirmed bigint, d_bounced bigint, d_junk bigint)
RETURNS void LANGUAGE sql AS $$
  UPDATE subscriber_counts
     SET active = active + d_active, unsubscribed = unsubscribed + d_unsubscribed, unconfirmed = unconfirmed + d_unconfirmed,
         bounced = bounced + d_bounced, junk = junk + d_junk
   WHERE shard = (txid_current() % 32)::smallint
     -- A statement that moved no count (a name change, a touch) takes no lock here.
     AND (d_active, d_unsubscribed, d_unconfirmed, d_bounced, d_junk) IS DISTINCT FROM (0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint)
$$;
--> statement-breakpoint
CREATE FUNCTION subscriber_counts_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM subscriber_counts_add(
    count(*) FILTER (WHERE status = 'active'), count(*) FILTER (WHERE status = 'unsubscribed'),
    count(*) FILTER (WHERE status = 'unconfirmed'), count(*) FILTER (WHERE status = 'bounced'),
    count(*) FILTER (WHERE status = 'junk'))
  FROM added;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION subscriber_counts_on_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM subscriber_counts_add(
    -count(*) FILTER (WHERE status = 'active'), -count(*) FILTER (WHERE status = 'unsubscribed'),
    -count(*) FILTER (WHERE status = 'unconfirmed'), -count(*) FILTER (WHERE status = 'bounced'),
    -count(*) FILTER (WHERE status = 'junk'))
  FROM removed;
  RETURN NULL;
END $$;
--> statement-breakpoint
-- An UPDATE keeps its row count, so the change per status is (rows with it after) - (rows with it before).
CREATE FUNCTION subscriber_counts_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM subscriber_counts_add(n.active - o.active, n.unsubscribed - o.unsubscribed, n.unconfirmed - o.unconfirmed,
                                n.bounced - o.bounced, n.junk - o.junk)
  FROM (SELECT count(*) FILTER (WHERE status = 'active') AS active, count(*) FILTER (WHERE status = 'unsubscribed') AS unsubscribed,
               count(*) FILTER (WHERE status = 'unconfirmed') AS unconfirmed, count(*) FILTER (WHERE status = 'bounced') AS bounced,
               count(*) FILTER (WHERE status = 'junk') AS junk FROM after_rows) n,
       (SELECT count(*) FILTER (WHERE status = 'active') AS active, count(*) FILTER (WHERE status = 'unsubscribed') AS unsubscribed,
               count(*) FILTER (WHERE status = 'unconfirmed') AS unconfirmed, count(*) FILTER (WHERE status = 'bounced') AS bounced,
               count(*) FILTER (WHERE status = 'junk') AS junk FROM before_rows) o;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION subscriber_counts_on_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE subscriber_counts SET active = 0, unsubscribed = 0, unconfirmed = 0, bounced = 0, junk = 0;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER subscriber_counts_insert AFTER INSERT ON subscribers REFERENCING NEW TABLE AS added
  FOR EACH STATEMENT EXECUTE FUNCTION subscriber_counts_on_insert();
--> statement-breakpoint
CREATE TRIGGER subscriber_counts_delete AFTER DELETE ON subscribers REFERENCING OLD TABLE AS removed
  FOR EACH STATEMENT EXECUTE FUNCTION subscriber_counts_on_delete();
--> statement-breakpoint
CREATE TRIGGER subscriber_counts_update AFTER UPDATE ON subscribers REFERENCING OLD TABLE AS before_rows NEW TABLE AS after_rows
  FOR EACH STATEMENT EXECUTE FUNCTION subscriber_counts_on_update();
--> statement-breakpoint
CREATE TRIGGER subscriber_counts_truncate AFTER TRUNCATE ON subscribers
  FOR EACH STATEMENT EXECUTE FUNCTION subscriber_counts_on_truncate();
--> statement-breakpoint
CREATE FUNCTION plan_counts_add(d_total bigint, d_searchable bigint) RETURNS void LANGUAGE sql AS $$
  UPDATE plan_counts SET total = total + d_total, searchable = searchable + d_searchable
   WHERE id = 1 AND (d_total, d_searchable) IS DISTINCT FROM (0::bigint, 0::bigint)
$$;
--> statement-breakpoint
-- An upsert (INSERT … ON CONFLICT DO UPDATE) fires both: the insert trigger sees the rows it
-- inserted, the update trigger the rows it updated.
CREATE FUNCTION plan_counts_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM plan_counts_add(count(*), count(*) FILTER (WHERE ever_online)) FROM added;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION plan_counts_on_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM plan_counts_add(-count(*), -count(*) FILTER (WHERE ever_online)) FROM removed;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION plan_counts_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM plan_counts_add(0, n.searchable - o.searchable)
  FROM (SELECT count(*) FILTER (WHERE ever_online) AS searchable FROM after_rows) n,
       (SELECT count(*) FILTER (WHERE ever_online) AS searchable FROM before_rows) o;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION plan_counts_on_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE plan_counts SET total = 0, searchable = 0;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER plan_counts_insert AFTER INSERT ON plans REFERENCING NEW TABLE AS added
  FOR EACH STATEMENT EXECUTE FUNCTION plan_counts_on_insert();
--> statement-breakpoint
CREATE TRIGGER plan_counts_delete AFTER DELETE ON plans REFERENCING OLD TABLE AS removed
  FOR EACH STATEMENT EXECUTE FUNCTION plan_counts_on_delete();
--> statement-breakpoint
CREATE TRIGGER plan_counts_update AFTER UPDATE ON plans REFERENCING OLD TABLE AS before_rows NEW TABLE AS after_rows
  FOR EACH STATEMENT EXECUTE FUNCTION plan_counts_on_update();
--> statement-breakpoint
CREATE TRIGGER plan_counts_truncate AFTER TRUNCATE ON plans
  FOR EACH STATEMENT EXECUTE FUNCTION plan_counts_on_truncate();
--> statement-breakpoint
-- Seeded after the triggers exist: CREATE TRIGGER holds a lock that keeps writers out until this
-- migration commits, so no write can fall between the COUNT and the first trigger.
INSERT INTO subscriber_counts (shard) SELECT s FROM generate_series(0, 31) AS s;
--> statement-breakpoint
UPDATE subscriber_counts c
   SET active = n.active, unsubscribed = n.unsubscribed, unconfirmed = n.unconfirmed, bounced = n.bounced, junk = n.junk
  FROM (SELECT count(*) FILTER (WHERE status = 'active') AS active, count(*) FILTER (WHERE status = 'unsubscribed') AS unsubscribed,
               count(*) FILTER (WHERE status = 'unconfirmed') AS unconfirmed, count(*) FILTER (WHERE status = 'bounced') AS bounced,
               count(*) FILTER (WHERE status = 'junk') AS junk FROM subscribers) n
 WHERE c.shard = 0;
--> statement-breakpoint
INSERT INTO plan_counts (id, total, searchable) SELECT 1, count(*), count(*) FILTER (WHERE ever_online) FROM plans;
