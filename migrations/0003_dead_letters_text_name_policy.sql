-- Dead letters keep their raw body as text: jsonb refuses \u0000, which made a poison message's own dead letter unstorable.
ALTER TABLE "dead_letters" ALTER COLUMN "body" SET DATA TYPE text USING "body"::text;--> statement-breakpoint
ALTER TABLE "operations" ALTER COLUMN "subscriber_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "dead_letters" ADD COLUMN "body_format" text DEFAULT 'json' NOT NULL;--> statement-breakpoint
-- NOT VALID: rows stored before the name policy are kept as they are; every new or changed row is checked.
ALTER TABLE "subscribers" ADD CONSTRAINT "subscribers_name_chars" CHECK ("subscribers"."name" !~ '[\x01-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]') NOT VALID;--> statement-breakpoint
ALTER TABLE "subscribers" ADD CONSTRAINT "subscribers_last_name_chars" CHECK ("subscribers"."last_name" !~ '[\x01-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]') NOT VALID;
