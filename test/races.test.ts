// The race suite: every route that changes a webhook endpoint, an API key or a subscriber, sent at
// the same moment as a DELETE of the same resource, ROUNDS times. Whatever wins, each answer is one
// the route documents for that outcome (2xx, or 404/409/412/410 when the other side went first):
// never a 5xx. Rounds run side by side, so each pair also races the other rounds.
import { describe, expect } from "vitest";
import type { Envelope } from "./helpers.ts";
import { bearer, call, postJson, uniqueDomain, waitFor } from "./helpers.ts";
import { hook, hookName, it, json, registerEndpoint } from "./webhook-helpers.ts";

const ROUNDS = 30;
const wait = { Prefer: "wait=5" };

interface Race {
  /** The route under test and the DELETE, as requests. */
  write: () => Promise<Response>;
  remove: () => Promise<Response>;
}

/** Runs ROUNDS races at once and checks every answer's status; returns the statuses seen, by side. */
async function race(
  setup: (round: number) => Promise<Race>,
  allowed: { write: number[]; remove: number[] },
): Promise<{ write: number[]; remove: number[] }> {
  const races = await Promise.all(Array.from({ length: ROUNDS }, (_, i) => setup(i)));
  const answers = await Promise.all(
    races.map(async (r, i) => {
      // Alternate which request leaves first, so both orders are exercised.
      const [w, d] = i % 2 === 0 ? await Promise.all([r.write(), r.remove()]) : (await Promise.all([r.remove(), r.write()])).reverse();
      const body = async (res: Response) => `${res.status} ${(await res.text()).slice(0, 300)}`;
      return { write: w!.status, remove: d!.status, detail: `${await body(w!)} | ${await body(d!)}` };
    }),
  );
  const wrong = answers.filter((a) => !allowed.write.includes(a.write) || !allowed.remove.includes(a.remove));
  expect(wrong.map((a) => a.detail)).toEqual([]);
  return { write: answers.map((a) => a.write), remove: answers.map((a) => a.remove) };
}

const del =
  (path: string, key: string, extra: Record<string, string> = {}) =>
  () =>
    call(path, { method: "DELETE", headers: { ...bearer(key), ...extra } });
const post =
  (path: string, key: string, extra: Record<string, string> = {}) =>
  () =>
    call(path, { method: "POST", headers: { ...bearer(key), ...extra } });

describe("webhook routes racing DELETE /v1/webhooks/{id}", () => {
  const endpointFor = async (admin: string) =>
    registerEndpoint(admin, await hook(hookName("race"), { secrets: [] }), ["subscriber.created"]);
  const gone = [204, 404];

  it("POST …/test: 202 or 404", async ({ admin }) => {
    await race(
      async () => {
        const ep = await endpointFor(admin);
        return { write: post(`/v1/webhooks/${ep.id}/test`, admin), remove: del(`/v1/webhooks/${ep.id}`, admin) };
      },
      { write: [202, 404], remove: gone },
    );
  });

  it("POST …/rotate-secret: 200 or 404", async ({ admin }) => {
    await race(
      async () => {
        const ep = await endpointFor(admin);
        return { write: post(`/v1/webhooks/${ep.id}/rotate-secret`, admin), remove: del(`/v1/webhooks/${ep.id}`, admin) };
      },
      { write: [200, 404], remove: gone },
    );
  });

  it("PATCH: 200 or 404", async ({ admin }) => {
    await race(
      async (i) => {
        const ep = await endpointFor(admin);
        const body = JSON.stringify(i % 3 === 0 ? { enabled: false } : { description: `round ${i}` });
        return {
          write: () => call(`/v1/webhooks/${ep.id}`, { method: "PATCH", headers: json(admin), body }),
          remove: del(`/v1/webhooks/${ep.id}`, admin),
        };
      },
      { write: [200, 404], remove: gone },
    );
  });

  it("POST …/deliveries/{id}/redeliver: 202, 404, or 409 while an attempt is in flight", async ({ admin }) => {
    await race(
      async () => {
        const ep = await endpointFor(admin);
        const sent = await post(`/v1/webhooks/${ep.id}/test`, admin)();
        expect(sent.status).toBe(202);
        const { data } = await sent.json<Envelope<{ id: string }>>();
        return {
          write: post(`/v1/webhooks/${ep.id}/deliveries/${data.id}/redeliver`, admin),
          remove: del(`/v1/webhooks/${ep.id}`, admin),
        };
      },
      { write: [202, 404, 409], remove: gone },
    );
  });

  it("DELETE against DELETE: one 204, the other 204 or 404", async ({ admin }) => {
    const seen = await race(
      async () => {
        const ep = await endpointFor(admin);
        // Deliveries being recorded while the endpoint goes: the cascade meets them.
        await post(`/v1/webhooks/${ep.id}/test`, admin)();
        return { write: del(`/v1/webhooks/${ep.id}`, admin), remove: del(`/v1/webhooks/${ep.id}`, admin) };
      },
      { write: gone, remove: gone },
    );
    for (const [i, w] of seen.write.entries()) expect([w, seen.remove[i]]).toContain(204);
  });
});

describe("API key routes racing DELETE /v1/admin/api-keys/{id}", () => {
  const newKey = async (admin: string) => {
    const res = await postJson("/v1/admin/api-keys", { name: "race", scopes: ["subscribers:read"] }, bearer(admin));
    expect(res.status).toBe(201);
    return (await res.json<Envelope<{ id: string; key: string }>>()).data;
  };

  it("DELETE against DELETE: both 200 (revoking is idempotent)", async ({ admin }) => {
    await race(
      async () => {
        const k = await newKey(admin);
        return { write: del(`/v1/admin/api-keys/${k.id}`, admin), remove: del(`/v1/admin/api-keys/${k.id}`, admin) };
      },
      { write: [200], remove: [200] },
    );
  });

  it("a request made with the key while it is revoked: 200 or 401", async ({ admin }) => {
    await race(
      async () => {
        const k = await newKey(admin);
        return {
          write: () => call("/v1/subscribers?limit=1", { headers: bearer(k.key) }),
          remove: del(`/v1/admin/api-keys/${k.id}`, admin),
        };
      },
      { write: [200, 401], remove: [200] },
    );
  });
});

describe("subscriber routes racing DELETE /v1/subscribers/{id_or_email}", () => {
  /** A stored subscriber: the create answered when applied, or (a busy machine outlasting the wait) its operation polled. */
  const person = async (admin: string, domain: string, i: number) => {
    const email = `race${i}@${domain}`;
    const res = await postJson(
      "/v1/subscribers",
      { email, name: "Race", last_name: "Case", status: "active" },
      { ...bearer(admin), ...wait },
    );
    expect([201, 202]).toContain(res.status);
    let id = (await res.json<Envelope<{ id: string }>>()).data.id;
    if (res.status === 202) {
      const op = await waitFor(async () => {
        const got = await call(res.headers.get("location")!, { headers: bearer(admin) });
        const { data } = await got.json<Envelope<{ status: string; subscriber_id: string }>>();
        return data.status === "pending" ? undefined : data;
      });
      expect(op.status).toBe("succeeded");
      id = op.subscriber_id;
    }
    return { id, email: encodeURIComponent(email) };
  };
  // Under Prefer: wait, a change the other side overtook ends not_found, superseded or precondition
  // failed; 202 when the wait ran out first. Erased ones may answer 410.
  const change = [200, 202, 404, 409, 410, 412];
  const deleted = [202, 204, 404, 410, 412];

  for (const by of ["id", "email"] as const) {
    it(`PATCH by ${by}`, async ({ admin }) => {
      const domain = uniqueDomain();
      await race(
        async (i) => {
          const s = await person(admin, domain, i);
          const ref = s[by];
          return {
            write: () =>
              call(`/v1/subscribers/${ref}`, { method: "PATCH", headers: json(admin, wait), body: JSON.stringify({ name: `Round ${i}` }) }),
            remove: del(`/v1/subscribers/${ref}`, admin, wait),
          };
        },
        { write: change, remove: deleted },
      );
    });

    it(`DELETE against DELETE by ${by}`, async ({ admin }) => {
      const domain = uniqueDomain();
      await race(
        async (i) => {
          const s = await person(admin, domain, i);
          return { write: del(`/v1/subscribers/${s[by]}`, admin, wait), remove: del(`/v1/subscribers/${s[by]}`, admin, wait) };
        },
        { write: deleted, remove: deleted },
      );
    });

    it(`POST …/forget by ${by}`, async ({ admin }) => {
      const domain = uniqueDomain();
      await race(
        async (i) => {
          const s = await person(admin, domain, i);
          return { write: post(`/v1/subscribers/${s[by]}/forget`, admin, wait), remove: del(`/v1/subscribers/${s[by]}`, admin, wait) };
        },
        { write: [202, 204, 404, 410], remove: deleted },
      );
    });
  }
});
