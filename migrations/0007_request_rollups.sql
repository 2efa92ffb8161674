CREATE TABLE "request_rollups" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"isolate_id" text NOT NULL,
	"minute" timestamp with time zone NOT NULL,
	"route_group" text NOT NULL,
	"count" integer NOT NULL,
	"errors" integer NOT NULL,
	"cache_lookups" integer NOT NULL,
	"cache_hits" integer NOT NULL,
	"buckets" integer[] NOT NULL,
	"sum_ms" numeric NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "request_rollups_isolate_minute_group_uq" ON "request_rollups" USING btree ("isolate_id","minute","route_group");--> statement-breakpoint
CREATE INDEX "request_rollups_minute_idx" ON "request_rollups" USING btree ("minute");--> statement-breakpoint
CREATE INDEX "webhook_attempts_attempted_idx" ON "webhook_attempts" USING btree ("attempted_at");