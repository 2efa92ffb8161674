import { describe, expect, it } from "vitest";
import { generatePlanDocument, generatePlanDocumentText } from "../../scripts/lib/generate-plans.ts";
import sample2 from "../../test/fixtures/provider/sample_2.xml?raw";
import { PlanDocumentError, PlanStreamParser, parsePlanChunks } from "./plan-parser.ts";
import type { ProviderPlan } from "./plan-schema.ts";
import { isValidProviderTime, parseZone, ZoneAttributes } from "./plan-schema.ts";

async function parseAll(text: string, pieceSize = 7) {
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += pieceSize) pieces.push(text.slice(i, i + pieceSize));
  const parser = new PlanStreamParser();
  const plans: ProviderPlan[] = [];
  for await (const batch of parsePlanChunks(pieces, parser)) plans.push(...batch);
  return { plans, parser };
}

describe("provider times", () => {
  it("accepts real calendar times and rejects impossible ones", () => {
    expect(isValidProviderTime("2021-06-30T21:00:00")).toBe(true);
    expect(isValidProviderTime("2024-02-29T00:00:00")).toBe(true);
    for (const bad of [
      "2021-09-31T20:00:00",
      "2023-02-29T00:00:00",
      "2021-06-30T24:00:00",
      "2021-06-30 21:00:00",
      "2021-06-30T21:00",
      "",
    ]) {
      expect(isValidProviderTime(bad), bad).toBe(false);
    }
  });
});

describe("parseZone (the fast path) agrees with the ZoneAttributes zod schema", () => {
  const base = { zone_id: "40", capacity: "243", price: "20.00", name: "Platea", numbered: "true" };
  const variants: Record<string, string | undefined>[] = [
    {},
    { zone_id: " 7 " },
    { zone_id: "" },
    { zone_id: "   " },
    { zone_id: "x".repeat(64) },
    { zone_id: "x".repeat(65) },
    { zone_id: undefined },
    { capacity: "0" },
    { capacity: "-1" },
    { capacity: "1.5" },
    { capacity: "1234567890" },
    { capacity: "" },
    { price: "0" },
    { price: "9.5" },
    { price: "9.555" },
    { price: "-1.00" },
    { price: "1e3" },
    { price: "abc" },
    { price: "12345678901" },
    { numbered: "false" },
    { numbered: "TRUE" },
    { numbered: "1" },
    { name: "" },
    { name: "n".repeat(256) },
    { name: undefined },
  ];
  it.each(variants)("%o", (patch) => {
    const attrs = Object.fromEntries(Object.entries({ ...base, ...patch }).filter(([, v]) => v !== undefined)) as Record<string, string>;
    const reference = ZoneAttributes.safeParse(attrs);
    const fast = parseZone(attrs);
    expect(fast.ok).toBe(reference.success);
    if (fast.ok && reference.success) {
      expect(fast.zone).toEqual({
        zoneId: reference.data.zone_id,
        name: reference.data.name,
        capacity: reference.data.capacity,
        price: reference.data.price,
        numbered: reference.data.numbered,
      });
    }
  });
});

describe("PlanStreamParser", () => {
  it("parses our sample split into tiny pieces: skips the impossible date, keeps the repeated zone_id", async () => {
    const { plans, parser } = await parseAll(sample2);
    expect(plans.map((p) => `${p.basePlanId}/${p.planId}`)).toEqual(["501/801", "503/900"]);
    const orchestra = plans[1] as ProviderPlan;
    expect(orchestra).toMatchObject({
      title: "Orquesta de Cámara",
      startsAt: "2022-06-20T20:00:00",
      endsAt: "2022-06-20T22:30:00",
      organizerCompanyId: "7",
      soldOut: false,
    });
    expect(orchestra.zones).toEqual([
      { zoneId: "5", name: "Patio", capacity: 0, price: 90, numbered: true },
      { zoneId: "5", name: "Patio", capacity: 61, price: 45, numbered: false },
    ]);
    expect(parser.counters).toEqual({ basePlans: 3, plans: 3, invalid: 1 });
    expect(parser.invalidSamples[0]).toMatchObject({ basePlanId: "504", planId: "801" });
    expect(parser.invalidSamples[0]?.reason).toMatch(/plan_start_date/);
  });

  it("reads the legacy eventList/base_event/event naming", async () => {
    const legacy = `<?xml version="1.0"?><eventList><output>
      <base_event base_event_id="7" sell_mode="online" title="Old &amp; gold">
        <event event_start_date="2021-01-01T10:00:00" event_end_date="2021-01-01T11:00:00" event_id="9" sold_out="true">
          <zone zone_id="1" capacity="3" price="9.5" name="A" numbered="false"/>
        </event>
      </base_event></output></eventList>`;
    const { plans } = await parseAll(legacy);
    expect(plans).toEqual([
      {
        basePlanId: "7",
        title: "Old & gold",
        sellMode: "online",
        organizerCompanyId: null,
        planId: "9",
        startsAt: "2021-01-01T10:00:00",
        endsAt: "2021-01-01T11:00:00",
        sellFrom: null,
        sellTo: null,
        soldOut: true,
        zones: [{ zoneId: "1", name: "A", capacity: 3, price: 9.5, numbered: false }],
      },
    ]);
  });

  it("skips and counts plans with missing attributes, bad zones, no zones or an end before the start", async () => {
    const doc = `<planList><output><base_plan base_plan_id="1" sell_mode="online" title="T">
      <plan plan_end_date="2021-01-01T11:00:00" plan_id="a"><zone zone_id="1" capacity="1" price="1.00" name="z" numbered="true"/></plan>
      <plan plan_start_date="2021-01-01T10:00:00" plan_end_date="2021-01-01T11:00:00" plan_id="b"><zone zone_id="1" capacity="-1" price="1.00" name="z" numbered="true"/></plan>
      <plan plan_start_date="2021-01-01T10:00:00" plan_end_date="2021-01-01T11:00:00" plan_id="c"></plan>
      <plan plan_start_date="2021-01-01T12:00:00" plan_end_date="2021-01-01T11:00:00" plan_id="d"><zone zone_id="1" capacity="1" price="1.00" name="z" numbered="true"/></plan>
      <plan plan_start_date="2021-01-01T10:00:00" plan_end_date="2021-01-01T11:00:00" plan_id="ok"><zone zone_id="1" capacity="1" price="abc" name="z" numbered="true"/><zone zone_id="2" capacity="1" price="2" name="y" numbered="false"/></plan>
      <plan plan_start_date="2021-01-01T10:00:00" plan_end_date="2021-01-01T11:00:00" plan_id="good"><zone zone_id="2" capacity="1" price="2" name="y" numbered="false"/></plan>
      </base_plan>
      <base_plan sell_mode="online" title="no id"><plan plan_start_date="2021-01-01T10:00:00" plan_end_date="2021-01-01T11:00:00" plan_id="x"><zone zone_id="2" capacity="1" price="2" name="y" numbered="false"/></plan></base_plan>
      </output></planList>`;
    const { plans, parser } = await parseAll(doc, 13);
    expect(plans.map((p) => p.planId)).toEqual(["good"]);
    expect(parser.counters).toEqual({ basePlans: 2, plans: 7, invalid: 6 });
    expect(parser.invalidSamples.map((s) => s.planId)).toEqual(["a", "b", "c", "d", "ok", "x"]);
  });

  it.each([
    [
      "a DTD (billion laughs)",
      `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><planList><output/></planList>`,
      /DTD/,
    ],
    ["a document cut short", sample2.slice(0, 900), /ended before|not well-formed/],
    ["garbage", "<html><body>Gateway error</body>\u0000 not xml", /not well-formed|unexpected root/],
    ["a different root element", "<html><body/></html>", /unexpected root/],
    [
      "an undefined entity",
      `<planList><output><base_plan base_plan_id="1" sell_mode="online" title="&boom;"/></output></planList>`,
      /not well-formed/,
    ],
  ])("rejects %s as a whole", async (_what, doc, message) => {
    await expect(parseAll(doc)).rejects.toThrow(PlanDocumentError);
    await expect(parseAll(doc)).rejects.toThrow(message);
  });

  it("holds only a bounded number of plans at a time while streaming a large document", async () => {
    const parser = new PlanStreamParser();
    let total = 0;
    let largestBatch = 0;
    for await (const batch of parsePlanChunks(generatePlanDocument({ plans: 2_000, zonesPerPlan: 20, invalidEvery: 100 }), parser)) {
      total += batch.length;
      largestBatch = Math.max(largestBatch, batch.length);
    }
    expect(total).toBe(1_980);
    expect(parser.counters.invalid).toBe(20);
    // Chunks of 50 plans in, at most 50 plans out per write.
    expect(largestBatch).toBeLessThanOrEqual(50);
    expect(generatePlanDocumentText({ plans: 2, zonesPerPlan: 1 })).toContain('plan_id="1"');
  });
});
