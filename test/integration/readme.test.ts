/**
 * The README is the front door: short, with a table of contents that reaches every page of docs/, its
 * first example where a reader looks for it, and set-up commands that are scripts of the package. In
 * README.md and docs/*.md, every relative link reaches a file (and a `#fragment` a heading of it), and
 * every TypeScript or JavaScript block is a program of examples/, shown whole after an
 * `<!-- example: examples/… -->` line (examples.test.ts runs them), and each of those is shown.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { it } from "node:test";

const ROOT = resolve(import.meta.dirname, "../..");
const read = (file: string) => readFileSync(join(ROOT, file), "utf8");
const README = read("README.md");
const PAGES = readdirSync(join(ROOT, "docs"))
  .filter((f) => f.endsWith(".md"))
  .map((f) => `docs/${f}`);

/** The text of `markdown` under `heading`, up to the next heading of the same level or above. */
function section(markdown: string, heading: string): string {
  const from = markdown.indexOf(`\n${heading}\n`);
  assert.ok(from >= 0, `the README has a section "${heading}"`);
  const level = heading.split(" ")[0]!;
  const next = markdown.slice(from + heading.length + 2).search(new RegExp(`^#{1,${level.length}} `, "m"));
  return next < 0 ? markdown.slice(from) : markdown.slice(from, from + heading.length + 2 + next);
}

/** Markdown without its fenced blocks (their text is code, not links or headings). */
function prose(markdown: string): string {
  return markdown.replace(/^\s*```[^\n]*\n[\s\S]*?^\s*```\s*$/gm, "");
}

/** GitHub's anchors of the headings of `markdown`. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const [, text] of prose(markdown).matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = text!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return out;
}

it("the README stays the front door: at most 400 lines", () => {
  const lines = README.split("\n").length;
  assert.ok(lines <= 400, `README.md has ${lines} lines`);
});

it("its contents link to every page of docs/", () => {
  const contents = section(README, "## Contents");
  for (const page of PAGES) assert.ok(contents.includes(`](${page}`), `the contents link to ${page}`);
});

it("its first example is plain JavaScript against 127.0.0.1:11211, as a reader runs it", () => {
  const example = section(README, "## Example");
  assert.match(example, /<!-- example: examples\/quick-start\.mjs -->\n```js\n/);
  assert.match(example, /from "memcachio"/);
  assert.match(example, /"127\.0\.0\.1:11211"/);
});

it("its set-up commands are scripts of the package", () => {
  const setup = section(README, "## Set-up, tests and bench");
  const scripts = JSON.parse(read("package.json")).scripts as Record<string, string>;
  for (const command of ["npm ci && npm run bench", "npm ci && npm test"]) {
    assert.ok(setup.includes(`\n${command} `), `the set-up shows ${command}`);
  }
  assert.ok(scripts.bench !== undefined && scripts.test !== undefined);
});

it("every relative link of README.md and docs/*.md reaches a file, and its fragment a heading", () => {
  for (const doc of ["README.md", ...PAGES]) {
    const text = prose(read(doc));
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue;
      const [path, fragment] = target!.split("#") as [string, string | undefined];
      const file = path === "" ? doc : join(dirname(doc), path);
      assert.ok(existsSync(join(ROOT, file)), `${doc} links to ${target}, which does not exist`);
      if (fragment !== undefined) {
        assert.ok(anchors(read(file)).has(fragment), `${doc} links to ${target}: no such heading in ${file}`);
      }
    }
  }
});

/** A fenced block of a Markdown file, and the file named by an `<!-- example: … -->` line before it. */
interface Block {
  where: string;
  lang: string;
  content: string;
  example: string | undefined;
}

const CODE = new Set(["js", "ts"]);
/** Blocks that are not programs: shell sessions, configuration, output. */
const NOT_CODE = new Set(["sh", "yaml", "text"]);

function blocks(doc: string): Block[] {
  const lines = read(doc).split("\n");
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\S*)\s*$/.exec(lines[i]!);
    if (open === null) continue;
    let end = i + 1;
    while (end < lines.length && !/^\s*```\s*$/.test(lines[end]!)) end++;
    assert.ok(end < lines.length, `${doc}:${i + 1}: a block that is never closed`);
    let before = i - 1;
    while (before >= 0 && lines[before]!.trim() === "") before--;
    // A block in a list item is indented: its lines are the program without that indent.
    const content = lines.slice(i + 1, end).map((l) => l.slice(open[1]!.length));
    out.push({
      where: `${doc}:${i + 1}`,
      lang: open[2]!,
      content: `${content.join("\n")}\n`,
      example: /^\s*<!-- example: (\S+) -->\s*$/.exec(lines[before] ?? "")?.[1],
    });
    i = end;
  }
  return out;
}

it("every TypeScript or JavaScript block is a program of examples/, whole; every other block is not code", () => {
  for (const b of ["README.md", ...PAGES].flatMap(blocks)) {
    if (NOT_CODE.has(b.lang)) {
      assert.equal(b.example, undefined, `${b.where}: an example line before a ${b.lang} block`);
      continue;
    }
    assert.ok(
      CODE.has(b.lang),
      `${b.where}: a block of language "${b.lang}" (not one of js, ts, sh, yaml, text)`,
    );
    assert.ok(b.example !== undefined, `${b.where}: no <!-- example: … --> line before this ${b.lang} block`);
    assert.match(b.example, /^examples\/[^/]+\.(ts|mjs)$/, `${b.where}: the example line names a program`);
    assert.equal(b.content, read(b.example), `${b.where} is not ${b.example} as it is`);
  }
});

it("every program of examples/ is shown in README.md or docs/", () => {
  const shown = new Set(["README.md", ...PAGES].flatMap(blocks).map((b) => b.example));
  for (const f of readdirSync(join(ROOT, "examples")).filter((f) => /\.(ts|mjs)$/.test(f))) {
    assert.ok(shown.has(`examples/${f}`), `examples/${f} is shown nowhere`);
  }
});
