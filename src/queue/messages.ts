import { z } from "zod";
import { SUBSCRIBER_STATUSES } from "../db/schema.ts";

/** Shared by the producer (POST /v1/subscribers) and the consumer; versioned for rolling deploys. */
export const SubscriberCreateMessage = z.object({
  type: z.literal("subscriber.create"),
  v: z.literal(1),
  operation_id: z.uuid(),
  requested_at: z.iso.datetime(),
  subscriber: z.object({
    id: z.uuid(),
    email: z.email().max(254),
    name: z.string().min(1).max(255),
    last_name: z.string().min(1).max(255),
    status: z.enum(SUBSCRIBER_STATUSES),
  }),
});
export type SubscriberCreateMessage = z.infer<typeof SubscriberCreateMessage>;
