ALTER TYPE "public"."operation_status" ADD VALUE 'superseded';--> statement-breakpoint
CREATE TABLE "subscriber_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"subscriber_id" uuid NOT NULL,
	"type" text NOT NULL,
	"version" integer NOT NULL,
	"operation_id" uuid NOT NULL,
	"data" jsonb NOT NULL,
	"occurred_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "subscriber_tombstones" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"subscriber_id" uuid,
	"email_hash" text,
	"kind" text NOT NULL,
	"operation_id" uuid NOT NULL,
	"version" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "operations" ADD COLUMN "version" integer;--> statement-breakpoint
ALTER TABLE "operations" ADD COLUMN "idempotency_key" text;--> statement-breakpoint
ALTER TABLE "subscribers" ADD COLUMN "unsubscribed_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "subscribers" ADD COLUMN "version" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "subscribers" ADD COLUMN "field_ops" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "subscriber_events_subscriber_version_uq" ON "subscriber_events" USING btree ("subscriber_id","version");--> statement-breakpoint
CREATE UNIQUE INDEX "subscriber_tombstones_subscriber_uq" ON "subscriber_tombstones" USING btree ("subscriber_id");--> statement-breakpoint
CREATE INDEX "subscriber_tombstones_email_hash_idx" ON "subscriber_tombstones" USING btree ("email_hash");--> statement-breakpoint
CREATE INDEX "subscriber_tombstones_created_idx" ON "subscriber_tombstones" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "operations_subscriber_idx" ON "operations" USING btree ("subscriber_id");