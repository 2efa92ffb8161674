// Per-endpoint isolation: receivers that hang (each holding many due deliveries) never delay another
// endpoint's deliveries by more than a second or two. The sender's timeout here is 1.5 s
// (vitest.config.ts), so a consumer that let one hanging round hold the batch, or sent a hanging
// endpoint's 20 deliveries in rounds before returning, would delay the healthy endpoint by seconds.
import { describe, expect } from "vitest";
import {
  createSubscriber,
  deliveryLog,
  hook,
  hookName,
  it,
  patchSubscriber,
  received,
  receivedMatching,
  registerEndpoint,
} from "./webhook-helpers.ts";

const HANGING = 3;
const DUE_EACH = 20;
const HEALTHY_CHANGES = 6;
/** How late a healthy endpoint's delivery may arrive after it was created (became due). */
const MAX_DELAY_MS = 2_000;

describe("a hanging receiver", () => {
  it("never holds up another endpoint's deliveries, with several hanging and one holding 20 due", { timeout: 90_000 }, async ({
    admin,
  }) => {
    const hanging = await Promise.all(
      Array.from({ length: HANGING }, async () => {
        const name = hookName("hang");
        const ep = await registerEndpoint(admin, await hook(name, { secrets: [], otherwise: "hang" }), ["subscriber.created"]);
        return { name, ep };
      }),
    );
    const healthyName = hookName("healthy");
    const healthy = await registerEndpoint(admin, await hook(healthyName, { secrets: [] }), ["subscriber.updated"]);

    // DUE_EACH deliveries become due at once at every hanging endpoint.
    const people = await Promise.all(Array.from({ length: DUE_EACH }, () => createSubscriber(admin, "iso")));
    for (const h of hanging) await receivedMatching(h.name, () => true, 1);

    // While they hang (and their retries come due), changes go to the healthy endpoint one by one.
    for (let i = 0; i < HEALTHY_CHANGES; i++) {
      await patchSubscriber(admin, people[i]!.id, { name: `Healthy ${i}` });
      await new Promise((r) => setTimeout(r, 400));
    }
    const got = await receivedMatching(healthyName, (r) => r.type === "subscriber.updated", HEALTHY_CHANGES, 30_000);
    const log = await deliveryLog(admin, healthy.id);
    const delays = got.map((r) => {
      const d = log.find((x) => x.webhook_id === r.webhookId);
      expect(d, r.webhookId).toBeDefined();
      return r.at - Date.parse(d!.created_at);
    });
    // The hanging endpoints were hanging all along: each was sent to more than once.
    for (const h of hanging) expect((await received(h.name)).length).toBeGreaterThan(1);
    expect(Math.max(...delays), `delays ${delays.join(", ")} ms`).toBeLessThanOrEqual(MAX_DELAY_MS);
  });
});
