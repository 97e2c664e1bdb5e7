/**
 * Values JSON would store as something else: a `Map` or `Set` becomes `{}`, a typed array an object
 * of indices, a class instance a plain object without its class (and its prototype's getters). Read
 * back, none of them is what was stored, so they are refused rather than silently changed. Objects
 * with a `toJSON` (Date, Buffer, the user's own) say themselves how they are stored, and pass; so do
 * boxed primitives, which JSON stores as the primitive.
 *
 * The walk visits what `JSON.stringify` visits, in the same order (it costs less than the encoding that
 * follows), and gives up at the first cycle, which `JSON.stringify` then reports.
 */

const PLAIN = Object.prototype;
/** Thrown through the walk at the first cycle: going on would visit every path of the graph. */
const CYCLE = Symbol("cycle");

/** What `value` holds that JSON would change (`"a Map"`, `"an instance of Point"`), or null when it is faithful. */
export function unfaithfulToJson(value: unknown): string | null {
  if (typeof value !== "object" || value === null) return null;
  try {
    return walk(value, []);
  } catch {
    return null; // a cycle, or too deep to walk: JSON.stringify reports it when the value is encoded
  }
}

function walk(v: object, ancestors: object[]): string | null {
  if (typeof (v as { toJSON?: unknown }).toJSON === "function") return null;
  const bad = describe(v);
  if (bad !== null) return bad;
  if (ancestors.includes(v)) throw CYCLE;
  ancestors.push(v);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const item: unknown = v[i];
      const inner = typeof item === "object" && item !== null ? walk(item, ancestors) : null;
      if (inner !== null) return inner;
    }
  } else {
    for (const key in v) {
      const item = (v as Record<string, unknown>)[key];
      const inner = typeof item === "object" && item !== null ? walk(item, ancestors) : null;
      if (inner !== null) return inner;
    }
  }
  ancestors.pop();
  return null;
}

/** Why this one object (not what it holds) would not survive JSON, or null. */
function describe(v: object): string | null {
  if (Array.isArray(v)) return null;
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto === PLAIN || proto === null) return null;
  if (v instanceof Map) return "a Map";
  if (v instanceof Set) return "a Set";
  if (v instanceof Number || v instanceof String || v instanceof Boolean) return null;
  const name = (proto as { constructor?: { name?: unknown } }).constructor?.name;
  // A plain object of another realm (a vm context, a test sandbox) has that realm's Object.prototype.
  if (name === "Object" && Object.getPrototypeOf(proto) === null) return null;
  if (typeof name !== "string" || name === "") return "an object with a prototype";
  return `an instance of ${name}`;
}
