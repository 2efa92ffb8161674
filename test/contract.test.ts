// The contract test (issue 22): every response of a scripted workload covering every operation and
// its error statuses is checked against the OpenAPI document the app serves, by a validator compiled
// from that document (test/contract-validator.ts). Any response the document does not describe fails
// the test with the operation, the status and where it differs. A control proves the check can fail.
import { beforeAll, describe, expect } from "vitest";
import { k, state } from "./contract-client.ts";
import type { OpenApiDoc } from "./contract-validator.ts";
import { Contract } from "./contract-validator.ts";
import { adminRoutes, publicRoutes, subscriberRoutes, webhookRoutes } from "./contract-workload.ts";
import { call, createTestKey, testDb } from "./helpers.ts";
import { it, syncSamplePlans } from "./plan-helpers.ts";

it.beforeAll(({ admin }) => syncSamplePlans(admin));

let doc: OpenApiDoc;
let contract: Contract;

beforeAll(async () => {
  const db = testDb();
  k.admin = await createTestKey(db, ["admin"], "contract-admin");
  k.writer = await createTestKey(db, ["subscribers:write", "subscribers:read"], "contract-writer");
  k.reader = await createTestKey(db, ["subscribers:read"], "contract-reader");
  k.writeOnly = await createTestKey(db, ["subscribers:write"], "contract-write-only");
  k.eraser = await createTestKey(db, ["subscribers:erase"], "contract-eraser");
  k.hooks = await createTestKey(db, ["webhooks:manage", "subscribers:read"], "contract-hooks");
  await db.close();
  doc = await (await call("/openapi.json")).json<OpenApiDoc>();
  contract = new Contract(doc);
  state.contract = contract;
});

describe("the OpenAPI document describes every response (contract test)", () => {
  it("a workload over every operation and its error statuses gets only documented answers", { timeout: 60_000 }, async () => {
    await publicRoutes();
    await subscriberRoutes();
    await adminRoutes();
    await webhookRoutes();
    expect(state.recorded.length).toBeGreaterThan(100);
    expect(state.failures, state.failures.join("\n")).toEqual([]);
  });

  it("the workload reached every operation of the document", () => {
    const missed = contract.operationIds.filter((id) => !contract.covered.has(id));
    expect(missed, `operations no request of the workload reached: ${missed.join(", ")}`).toEqual([]);
  });

  it("control: a deliberately wrong copy of one schema fails the same responses", () => {
    const wrong = structuredClone(doc) as OpenApiDoc & {
      components: { schemas: Record<string, { properties: Record<string, { type: string }> }> };
    };
    const version = wrong.components.schemas.Subscriber?.properties.version;
    if (!version) throw new Error("the document has no Subscriber.version to change");
    version.type = "string";
    const control = new Contract(wrong);
    const mismatches = state.recorded.flatMap((r) => control.check(r));
    expect(
      mismatches.some((m) => /^getSubscriber \(GET [^)]+\) 200 application\/json: body \/data\/version must be string/.test(m)),
      mismatches.join("\n"),
    ).toBe(true);
    const right = new Contract(doc);
    expect(state.recorded.flatMap((r) => right.check(r))).toEqual([]);
  });
});
