import type { Problem } from "../helpers.ts";

/** Runs `fn` over `items` with at most `concurrency` in flight. */
export async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** One line per check with the counts it verified, so a green run says how much it proved. */
export function report(name: string, counts: Record<string, unknown>): void {
  console.log(`[reliability] ${name}: ${JSON.stringify(counts)}`);
}

/** A well-formed RFC 9457 problem as this API emits it, with the same status as the response. */
export function isProblem(body: unknown, status: number): body is Problem {
  const p = body as Partial<Problem> | null;
  return (
    !!p &&
    typeof p.type === "string" &&
    typeof p.title === "string" &&
    p.status === status &&
    typeof p.detail === "string" &&
    typeof p.instance === "string" &&
    typeof p.request_id === "string"
  );
}
