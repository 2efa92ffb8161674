CREATE TABLE "base_plans" (
	"base_plan_id" text PRIMARY KEY NOT NULL,
	"title" text NOT NULL,
	"sell_mode" text NOT NULL,
	"organizer_company_id" text,
	"ever_online" boolean NOT NULL,
	"first_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_seen_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "plan_sync_runs" (
	"id" uuid PRIMARY KEY NOT NULL,
	"trigger" text NOT NULL,
	"outcome" text NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone NOT NULL,
	"document_hash" text,
	"etag" text,
	"last_modified" text,
	"report" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "plans" (
	"id" uuid PRIMARY KEY NOT NULL,
	"base_plan_id" text NOT NULL,
	"plan_id" text NOT NULL,
	"starts_at" timestamp NOT NULL,
	"ends_at" timestamp NOT NULL,
	"sell_from" timestamp,
	"sell_to" timestamp,
	"sold_out" boolean NOT NULL,
	"ever_online" boolean NOT NULL,
	"min_price" numeric(12, 2) NOT NULL,
	"max_price" numeric(12, 2) NOT NULL,
	"zone_count" integer NOT NULL,
	"content_hash" text NOT NULL,
	"first_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "zones" (
	"plan_id" uuid NOT NULL,
	"position" integer NOT NULL,
	"zone_id" text NOT NULL,
	"name" text NOT NULL,
	"capacity" integer NOT NULL,
	"price" numeric(12, 2) NOT NULL,
	"numbered" boolean NOT NULL,
	CONSTRAINT "zones_plan_id_position_pk" PRIMARY KEY("plan_id","position")
);
--> statement-breakpoint
ALTER TABLE "plans" ADD CONSTRAINT "plans_base_plan_id_base_plans_base_plan_id_fk" FOREIGN KEY ("base_plan_id") REFERENCES "public"."base_plans"("base_plan_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "zones" ADD CONSTRAINT "zones_plan_id_plans_id_fk" FOREIGN KEY ("plan_id") REFERENCES "public"."plans"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "plan_sync_runs_finished_idx" ON "plan_sync_runs" USING btree ("finished_at" DESC NULLS LAST);--> statement-breakpoint
CREATE UNIQUE INDEX "plans_base_plan_plan_uq" ON "plans" USING btree ("base_plan_id","plan_id");--> statement-breakpoint
CREATE INDEX "plans_search_idx" ON "plans" USING btree ("starts_at","id") WHERE "plans"."ever_online";