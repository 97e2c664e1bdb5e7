import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidKeyError, SerializationError } from "../../src/errors.ts";
import { KeyEncoder, MAX_BASE64_KEY_BYTES } from "../../src/keys.ts";
import { Flags, ValueCodec } from "../../src/serialization/codec.ts";

describe("keys", () => {
  const enc = new KeyEncoder();

  it("plain printable ASCII goes as it is", () => {
    assert.equal(enc.encode("user:42"), "user:42");
    assert.equal(enc.base64, false);
    assert.equal(enc.encode(Buffer.from("abc")), "abc");
    assert.equal(enc.base64, false);
    assert.equal(enc.encode("k".repeat(250)), "k".repeat(250));
  });

  it("spaces, control bytes, CRLF and UTF-8 go base64 with the b flag", () => {
    for (const k of ["a b", "a\r\nset x 0 0 1", "tab\there", "ключ", "\u0000", "x\u007f", "k\n", "\nk"]) {
      const token = enc.encode(k);
      assert.equal(enc.base64, true, k);
      assert.equal(Buffer.from(token, "base64").toString("utf8"), k);
      assert.match(token, /^[A-Za-z0-9+/=]+$/);
    }
    const bin = Buffer.from([0, 1, 2, 255]);
    assert.equal(Buffer.from(enc.encode(bin), "base64").equals(bin), true);
    assert.equal(enc.base64, true);
  });

  it("limits: 250 bytes plain, 186 bytes when base64 is needed, empty refused", () => {
    assert.throws(() => enc.encode(""), InvalidKeyError);
    assert.throws(() => enc.encode(Buffer.alloc(0)), InvalidKeyError);
    assert.throws(() => enc.encode("k".repeat(251)), InvalidKeyError);
    const ok = enc.encode("é".repeat(93)); // 186 bytes → 248 characters
    assert.equal(ok.length, 248);
    assert.throws(() => enc.encode(`${"é".repeat(93)}a`), InvalidKeyError); // 187 bytes → 252 characters
    assert.throws(() => enc.encode(" ".repeat(MAX_BASE64_KEY_BYTES + 1)), InvalidKeyError);
    assert.throws(() => enc.encode(42 as unknown as string), InvalidKeyError);
  });

  it("a string with a lone surrogate is refused: it has no UTF-8 form and would collide with others", () => {
    for (const k of ["a\uD800", "a\uDBFF", "\uDC00b", "x\uDFFFy", "\uD800\uD800\uDC00"]) {
      assert.throws(() => enc.encode(k), InvalidKeyError, JSON.stringify(k));
    }
    // Well-formed pairs are fine, and a Buffer key stays bytes as it is.
    assert.equal(Buffer.from(enc.encode("a\uD83D\uDE00"), "base64").toString("utf8"), "a😀");
    assert.equal(
      enc.encode(Buffer.from([0x61, 0xed, 0xa0, 0x80])),
      Buffer.from([0x61, 0xed, 0xa0, 0x80]).toString("base64"),
    );
  });

  it("the prefix counts in the limits and is part of the base64 token", () => {
    const p = new KeyEncoder("app:");
    assert.equal(p.encode("x"), "app:x");
    assert.throws(() => p.encode("k".repeat(247)), InvalidKeyError);
    assert.equal(Buffer.from(p.encode("a b"), "base64").toString(), "app:a b");
    assert.equal(Buffer.from(p.encode(Buffer.from([1])), "base64").toString("hex"), "6170703a01");
  });
});

describe("default codec", () => {
  const c = new ValueCodec();
  const roundTrip = (v: unknown): unknown => {
    c.encode(v);
    const bytes = typeof c.data === "string" ? Buffer.from(c.data) : c.data;
    assert.equal(bytes.length, c.length);
    return c.decode(bytes, 0, bytes.length, c.flags);
  };

  it("big text decodes to the same string whether its bytes are all ASCII or not, wherever the first other byte is", () => {
    const ascii = "x".repeat(200_000);
    for (const text of [
      ascii,
      `é${ascii}`,
      `${ascii}é`,
      `${ascii.slice(0, 100_000)}😀${ascii.slice(100_000)}`,
    ]) {
      const bytes = Buffer.concat([Buffer.from("pre"), Buffer.from(text, "utf8"), Buffer.from("\u00ff")]);
      for (const owned of [false, true]) {
        assert.equal(c.decode(bytes, 3, bytes.length - 2, Flags.STRING, owned), text);
      }
    }
    // A stray byte over 0x7f that is not UTF-8 decodes as UTF-8 does (a replacement character).
    const stray = Buffer.from("a".repeat(100_000));
    stray[50_000] = 0x80;
    assert.equal(c.decode(stray, 0, stray.length, Flags.STRING), stray.toString("utf8"));
  });

  it("round-trips every documented type with its flag", () => {
    const cases: [unknown, number][] = [
      ["hello", Flags.STRING],
      ["ключ 🔑", Flags.STRING],
      [Buffer.from([0, 255]), Flags.BYTES],
      [{ a: [1, "x", null] }, Flags.JSON],
      [true, Flags.JSON],
      [null, Flags.JSON],
      [3.25, Flags.NUMBER],
      [-0.5, Flags.NUMBER],
      [2n ** 70n, Flags.BIGINT],
    ];
    for (const [v, flag] of cases) {
      assert.deepEqual(roundTrip(v), v);
      assert.equal(c.flags, flag);
    }
    const u8 = new Uint8Array([1, 2, 3]);
    assert.deepEqual(roundTrip(u8), Buffer.from(u8));
  });

  it("strings are raw UTF-8 bytes; unknown flags read back as bytes", () => {
    c.encode("é");
    assert.equal(c.length, 2);
    assert.equal(c.flags, 0);
    const got = c.decode(Buffer.from("abc"), 0, 3, 0xdead0000);
    assert.ok(Buffer.isBuffer(got));
  });

  it("refuses what cannot be stored, and bad stored data is a SerializationError", () => {
    assert.throws(() => c.encode(undefined), SerializationError);
    assert.throws(() => c.encode(() => 1), SerializationError);
    const circ: Record<string, unknown> = {};
    circ.self = circ;
    assert.throws(() => c.encode(circ), SerializationError);
    assert.throws(() => c.decode(Buffer.from("{nope"), 0, 5, Flags.JSON), SerializationError);
  });

  it("a user codec gets a private copy of the bytes", () => {
    let seen: Buffer | undefined;
    const u = new ValueCodec({
      encode: (v) => ({ data: String(v), flags: 7 }),
      decode: (d) => {
        seen = d;
        return d.toString();
      },
    });
    const src = Buffer.from("xxhixx");
    assert.equal(u.decode(src, 2, 4, 7), "hi");
    src.fill(0);
    assert.equal(seen!.toString(), "hi");
  });
});
