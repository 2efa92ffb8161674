DROP INDEX "subscribers_created_id_idx";--> statement-breakpoint
DROP INDEX "subscribers_status_created_id_idx";--> statement-breakpoint
CREATE INDEX "subscribers_updated_id_idx" ON "subscribers" USING btree ("updated_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "subscribers_status_updated_id_idx" ON "subscribers" USING btree ("status","updated_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "subscribers_created_id_idx" ON "subscribers" USING btree ("created_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "subscribers_status_created_id_idx" ON "subscribers" USING btree ("status","created_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);