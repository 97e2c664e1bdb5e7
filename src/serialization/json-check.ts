/**
 * Values JSON would store as something else: a `Map` or `Set` becomes `{}`, a class instance loses its
 * class (and its prototype's getters), a typed array becomes an object of indices. Read back, none of
 * them is what was stored, so they are refused rather than silently changed. Objects with a `toJSON`
 * (Date, Buffer, the user's own) say themselves how they are stored, and pass.
 */

const PLAIN = Object.prototype;
/** Objects looked at, and how deep, before the check hands over to a (slower) replacer. */
const WALK_BUDGET = 10_000;
const WALK_DEPTH = 64;

/** What `value` holds that JSON would change (`"a Map"`, `"a Foo instance"`), or null when it is faithful. */
export function unfaithfulToJson(value: unknown): string | null {
  const budget = { left: WALK_BUDGET };
  const found = walk(value, budget, 0);
  if (found !== null || budget.left > 0) return found;
  // A very large or self-referencing value: let JSON's own traversal (which stops at cycles) look.
  let inReplacer: string | null = null;
  try {
    JSON.stringify(value, (_key, v: unknown) => {
      inReplacer ??= describe(v);
      return inReplacer === null ? v : undefined;
    });
  } catch {
    return null; // a cycle: JSON.stringify reports it when the value is encoded
  }
  return inReplacer;
}

function walk(v: unknown, budget: { left: number }, depth: number): string | null {
  if (typeof v !== "object" || v === null) return null;
  if (--budget.left <= 0 || depth > WALK_DEPTH) {
    budget.left = 0;
    return null;
  }
  const bad = describe(v);
  if (bad !== null) return bad;
  if (typeof (v as { toJSON?: unknown }).toJSON === "function") return null;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const inner = walk(v[i], budget, depth + 1);
      if (inner !== null || budget.left <= 0) return inner;
    }
    return null;
  }
  for (const key in v) {
    const inner = walk((v as Record<string, unknown>)[key], budget, depth + 1);
    if (inner !== null || budget.left <= 0) return inner;
  }
  return null;
}

/** Why this one object (not what it holds) would not survive JSON, or null. */
function describe(v: unknown): string | null {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return null;
  if (typeof (v as { toJSON?: unknown }).toJSON === "function") return null;
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto === PLAIN || proto === null) return null;
  if (v instanceof Map) return "a Map";
  if (v instanceof Set) return "a Set";
  const name = (proto as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === "string" && name !== "" ? `a ${name} instance` : "an object with a prototype";
}
