import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as errors from "../../src/errors.ts";

describe("errors", () => {
  it("every class has its own MC_ERR_ code, name, server and cause", () => {
    const seen = new Set<string>();
    for (const [name, cls] of Object.entries(errors)) {
      if (typeof cls !== "function") continue;
      const e = new (cls as typeof errors.MemcachedError)("msg", { server: "h:1", cause: "why" });
      assert.match(e.code, /^MC_ERR_[A-Z_]+$/, name);
      assert.ok(!seen.has(e.code), `${name} has a code of its own`);
      seen.add(e.code);
      assert.equal(e.name, name);
      assert.equal(e.server, "h:1");
      assert.equal(e.cause, "why");
      assert.ok(e instanceof Error && e instanceof errors.MemcachedError);
    }
    assert.ok(seen.size >= 15);
  });

  it("instanceof follows the class hierarchy", () => {
    const st = new errors.SocketTimeoutError("x");
    assert.ok(st instanceof errors.ConnectionError);
    assert.ok(!(st instanceof errors.TimeoutError));
    assert.ok(!(new errors.ConnectionError("x") instanceof errors.SocketTimeoutError));
    assert.ok(!(new Error("plain") instanceof errors.MemcachedError));
  });

  it("instanceof works across two loaded copies of the package", async () => {
    const other = (await import(`../../src/errors.ts?copy=${Date.now()}`)) as typeof errors;
    assert.notEqual(other.TimeoutError, errors.TimeoutError, "really a second copy");
    const e = new other.TimeoutError("from the other copy");
    assert.ok(e instanceof errors.TimeoutError);
    assert.ok(e instanceof errors.MemcachedError);
    assert.ok(!(e instanceof errors.ConnectionError));
    assert.ok(new errors.ConnectTimeoutError("x") instanceof other.ConnectionError);
  });

  it("NoServersError is a ConnectionError, across copies too; each class's code is its ERROR_CODES entry", async () => {
    const other = (await import(`../../src/errors.ts?copy=${Date.now()}`)) as typeof errors;
    assert.ok(new errors.NoServersError("x") instanceof errors.ConnectionError);
    assert.ok(new other.NoServersError("x") instanceof errors.ConnectionError);
    assert.ok(!(new errors.NoServersError("x") instanceof errors.ServerUnavailableError));
    assert.ok(Object.isFrozen(errors.ERROR_CODES));
    const classes = new Map(Object.entries(errors));
    for (const [name, code] of Object.entries(errors.ERROR_CODES)) {
      const cls = classes.get(name) as typeof errors.MemcachedError;
      assert.equal(new cls("x").code, code, name);
    }
  });
});
