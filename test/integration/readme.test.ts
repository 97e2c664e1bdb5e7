/**
 * The README's example runs as it is written: its JavaScript block, taken from the README, run as a
 * plain ES module against a real memcached (only the server address and the import path are changed).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, it } from "node:test";
import { promisify } from "node:util";
import { type MemcachedServer, startMemcached } from "../support/memcached.ts";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");

let server: MemcachedServer;
before(async () => {
  server = await startMemcached();
});
after(async () => {
  await server.kill();
});

/** The first fenced block of `lang` after the heading `heading`. */
function block(markdown: string, heading: string, lang: string): string {
  const from = markdown.indexOf(`\n${heading}\n`);
  assert.ok(from >= 0, `the README has a section "${heading}"`);
  const open = markdown.indexOf(`\`\`\`${lang}\n`, from);
  const close = markdown.indexOf("\n```", open + 1);
  assert.ok(open >= 0 && close > open, `"${heading}" has a ${lang} block`);
  return markdown.slice(open + lang.length + 4, close + 1);
}

it("the README's JavaScript example runs as plain JavaScript and prints what its comments say", async () => {
  const example = block(readFileSync(join(ROOT, "README.md"), "utf8"), "## Example", "js");
  assert.match(example, /from "memcachio"/);
  assert.match(example, /"127\.0\.0\.1:11211"/);
  const source = example
    .replace(`from "memcachio"`, `from ${JSON.stringify(join(ROOT, "src/index.ts"))}`)
    .replaceAll("127.0.0.1:11211", server.label);
  const file = join(tmpdir(), `memcachio-readme-${process.pid}.mjs`);
  writeFileSync(file, source);
  try {
    // tsx only to load the source entry point; the example itself is plain JavaScript (.mjs).
    const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", file], { cwd: ROOT });
    assert.equal(stderr, "");
    assert.equal(stdout, "{ name: 'Ada' } 1\n");
  } finally {
    rmSync(file, { force: true });
  }
});
