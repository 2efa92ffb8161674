// What the webhook receiver (webhook-receiver.ts) is told and what it records: plain types without
// Node, so tests running in workerd can import them.

/** What one request is answered with: a status, a hang past the sender's timeout, or a dropped connection. */
export type Step = number | "hang" | "drop";

export interface HookBehaviour {
  /** Secrets to verify with; a delivery verifies if any of them does (the rotation overlap). */
  secrets: string[];
  /** Answers for the first requests, in order; then `otherwise`. */
  script?: Step[];
  otherwise?: Step;
  /** Extra latency before answering, in ms. */
  delayMs?: number;
  /** Probability (0–1) that a request after the script fails with 500. */
  failRate?: number;
  /** Text to answer with (the delivery log keeps its first 1 KB). */
  responseBody?: string;
}

export interface Received {
  webhookId: string;
  timestamp: string;
  signature: string;
  /** Index of the secret that verified it, or -1 when none did. */
  verifiedWith: number;
  type: string;
  data: unknown;
  /** What the receiver answered this request with. */
  answered: Step;
  at: number;
}
