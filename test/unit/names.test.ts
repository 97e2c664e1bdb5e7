/**
 * `Names.stillHas`: whether a host name still answers with the address a server's connections reach
 * (see `host-pin.ts`). Judged by the query of that address's family alone, so that one family
 * failing never replaces the connections of a server that did not move.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type DnsResolver, Names } from "../../src/client/names.ts";

type Answer = string[] | "servfail" | "nodata";

/** A resolver whose A and AAAA answers are given (`nodata`: the family has no record). */
function resolver(v4: Answer, v6: Answer): DnsResolver {
  const answer = (a: Answer) =>
    Array.isArray(a)
      ? Promise.resolve(a)
      : Promise.reject(
          Object.assign(new Error(`query ${a === "servfail" ? "ESERVFAIL" : "ENODATA"}`), {
            code: a === "servfail" ? "ESERVFAIL" : "ENODATA",
          }),
        );
  return {
    resolve4: (() => answer(v4)) as never,
    resolve6: (() => answer(v6)) as never,
    resolveSrv: (() => Promise.reject(new Error("no SRV here"))) as never,
    cancel: () => undefined,
  };
}

const names = (v4: Answer, v6: Answer) =>
  new Names({ servers: null, refreshInterval: 1000, timeout: 100, resolver: resolver(v4, v6) });

describe("Names.stillHas", () => {
  it("true while the address's family answers with it, whatever the other family does", async () => {
    assert.equal(await names(["10.0.0.1"], "servfail").stillHas("n", "10.0.0.1"), true);
    assert.equal(await names("servfail", ["fd00::1", "fd00::2"]).stillHas("n", "fd00::2"), true);
  });

  it("a failed query of the address's family tells nothing: it rejects, and the connections stay", async () => {
    // The A answer lacks the IPv6 address, but only the AAAA query could say it moved.
    await assert.rejects(names(["10.0.0.9"], "servfail").stillHas("n", "fd00::1"), /ESERVFAIL/);
    await assert.rejects(names("servfail", ["fd00::1"]).stillHas("n", "10.0.0.1"), /ESERVFAIL/);
  });

  it("false when the name answers without it: another address of its family, or only the other family", async () => {
    assert.equal(await names(["10.0.0.2"], "nodata").stillHas("n", "10.0.0.1"), false);
    assert.equal(await names("nodata", ["fd00::1"]).stillHas("n", "10.0.0.1"), false);
    assert.equal(await names("servfail", ["fd00::9"]).stillHas("n", "fd00::1"), false);
  });

  it("undefined when the name has no record at all (gone from DNS, not moved): the connections stay", async () => {
    assert.equal(await names("nodata", "nodata").stillHas("n", "10.0.0.1"), undefined);
    assert.equal(await names("nodata", "servfail").stillHas("n", "10.0.0.1"), undefined);
  });
});
