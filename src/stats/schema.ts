import { z } from "zod";
import { SUBSCRIBER_STATUSES } from "../db/schema.ts";

export const Stats = z
  .object({
    subscribers: z.object({ total: z.number().int(), by_status: z.record(z.enum(SUBSCRIBER_STATUSES), z.number().int()) }),
    /** searchable: ever sold online, so returned by /search. */
    plans: z.object({ total: z.number().int(), searchable: z.number().int() }),
    generated_at: z.iso.datetime(),
  })
  .meta({ id: "Stats" });
export type Stats = z.infer<typeof Stats>;
