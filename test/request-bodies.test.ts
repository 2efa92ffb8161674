import { describe, expect } from "vitest";
import type { OperationBody } from "./helpers.ts";
import { appWith, bearer, call, createTestKey, expectProblem, uniqueDomain } from "./helpers.ts";
import type { PlanPage } from "./plan-helpers.ts";
import { ALL, it, syncSamplePlans } from "./plan-helpers.ts";

it.beforeAll(({ admin }) => syncSamplePlans(admin));
let eraser: string;
it.beforeAll(async ({ db }) => {
  eraser = await createTestKey(db, ["subscribers:erase"], "body-eraser");
});

const person = (email: string) => JSON.stringify({ email, name: "Body", last_name: "Check" });
const post = (writer: string, body: BodyInit, contentType: string) =>
  call("/v1/subscribers", { method: "POST", headers: { ...bearer(writer), "Content-Type": contentType }, body });

describe("JSON bodies: application/json in UTF-8, nothing else (issue 22, 4c and 11d)", () => {
  it("accepts application/json with or without charset=utf-8", async ({ writer }) => {
    for (const type of [
      "application/json",
      "application/json; charset=utf-8",
      "Application/JSON;charset=UTF-8",
      'application/json; charset="utf-8"',
    ]) {
      const res = await post(writer, person(`ok-${crypto.randomUUID().slice(0, 6)}@${uniqueDomain()}`), type);
      expect(res.status, type).toBe(202);
      await res.arrayBuffer();
    }
  });

  it("refuses other JSON-like media types and other charsets with 415", async ({ writer }) => {
    for (const type of [
      "application/vnd.api+json",
      "application/merge-patch+json",
      "application/json; charset=utf-16",
      "application/json; charset=latin1",
      "text/json",
      "text/plain",
      "",
    ]) {
      const res = await post(writer, person(`no@${uniqueDomain()}`), type);
      await expectProblem(res, 415, "unsupported_media_type");
    }
  });

  it("refuses a body that is not valid UTF-8 with 400, never storing U+FFFD", async ({ writer }) => {
    const prefix = new TextEncoder().encode(`{"email":"bad@${uniqueDomain()}","name":"Jos`);
    const suffix = new TextEncoder().encode('","last_name":"Check"}');
    for (const bad of [[0xe9], [0xc3], [0xed, 0xa0, 0x80], [0xff, 0xfe]]) {
      const body = new Uint8Array([...prefix, ...bad, ...suffix]);
      const problem = await expectProblem(await post(writer, body, "application/json"), 400, "bad_request");
      expect(problem.detail).toMatch(/UTF-8/);
    }
    // The same bytes, well-formed: accepted.
    const good = new Uint8Array([...prefix, 0xc3, 0xa9, ...suffix]);
    expect((await post(writer, good, "application/json")).status).toBe(202);
  });

  it("a body on a route that takes none (…/forget, DELETE) is refused with 413, and nothing is accepted", async ({ writer }) => {
    const email = `forget-body@${uniqueDomain()}`;
    const withBody = { "Content-Type": "application/json" };
    await expectProblem(
      await call(`/v1/subscribers/${email}`, { method: "DELETE", headers: { ...bearer(writer), ...withBody }, body: "{}" }),
      413,
      "payload_too_large",
    );
    const forget = `/v1/subscribers/${email}/forget`;
    await expectProblem(
      await call(forget, { method: "POST", headers: { ...bearer(eraser), ...withBody }, body: "{}" }),
      413,
      "payload_too_large",
    );
    await expectProblem(await call(forget, { method: "POST", headers: bearer(eraser), body: "x" }), 413, "payload_too_large");
    // Without a body the same request is accepted.
    const ok = await call(forget, { method: "POST", headers: bearer(eraser) });
    expect(ok.status).toBe(202);
    expect((await ok.json<OperationBody>()).data.kind).toBe("subscriber.forget");
  });
});

describe("Vary on the cacheable plan reads (issue 22, 4b)", () => {
  it("the 304 carries the same Vary as the 200, with or without Origin", async () => {
    const page = await (await call(`/v1/plans${ALL}&limit=1`)).json<PlanPage>();
    const one = page.data[0];
    expect(one).toBeTruthy();
    for (const path of [`/search${ALL}`, `/v1/plans${ALL}`, `/v1/plans/${one?.id}`]) {
      for (const origin of [{}, { Origin: "https://app.example" }] as Record<string, string>[]) {
        const full = await call(path, { headers: origin });
        await full.arrayBuffer();
        expect(full.status, path).toBe(200);
        const vary = full.headers.get("vary");
        expect(vary, `${path} 200 ${JSON.stringify(origin)}`).toBe("Origin");
        const etag = full.headers.get("etag") ?? "";
        const revalidated = await call(path, { headers: { ...origin, "If-None-Match": etag } });
        expect(revalidated.status, path).toBe(304);
        expect(revalidated.headers.get("vary"), `${path} 304 ${JSON.stringify(origin)}`).toBe(vary);
      }
    }
  });

  it("with CORS limited to some origins, Origin is named once, with or without an Origin", async () => {
    const limited = appWith({ CORS_ORIGINS: "https://app.example" });
    for (const headers of [{}, { Origin: "https://app.example" }, { Origin: "https://other.example" }] as Record<string, string>[]) {
      const res = await limited(`/v1/plans${ALL}&limit=1`, { headers });
      await res.arrayBuffer();
      expect(res.headers.get("vary"), JSON.stringify(headers)).toBe("Origin");
    }
  });

  it("other answers are unchanged: no Vary without Origin when CORS allows every origin", async () => {
    const res = await call("/health");
    expect(res.headers.get("vary")).toBeNull();
    await res.arrayBuffer();
  });
});
