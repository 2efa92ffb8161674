/** Queue names as declared in wrangler.toml; the consumer dispatches on them. */
export const QUEUES = {
  subscriberWrites: "subscriber-writes",
  deadLetters: "subscriber-writes-dlq",
  webhookDeliveries: "webhook-deliveries",
} as const;
