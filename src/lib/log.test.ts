import { describe, expect, it } from "vitest";
import { errorMessage } from "./log.ts";

describe("errorMessage", () => {
  it("never carries a driver's parameters, quoted values or anything shaped like an email", () => {
    const driver = Object.assign(new Error('invalid input syntax for type uuid: "mallory@evil.example"'), { code: "22P02" });
    const wrapped = new Error(
      'Failed query: insert into "subscribers" ("email", "name") values ($1, $2)\nparams: mallory@evil.example,Mallory',
      { cause: driver },
    );
    const text = errorMessage(wrapped);
    expect(text).toBe("Error: Failed query (cause: Error [22P02]: invalid input syntax for type uuid: <value>)");
    expect(errorMessage(new Error("lookup of bob@example.com failed"))).toBe("Error: lookup of <email> failed");
    expect(errorMessage({ message: "socket closed" })).toBe("socket closed");
  });

  it("is bounded in length and depth", () => {
    let err: Error = new Error("x".repeat(1_000));
    for (let i = 0; i < 10; i++) err = new Error("outer", { cause: err });
    expect(errorMessage(err).length).toBeLessThan(400);
  });
});
