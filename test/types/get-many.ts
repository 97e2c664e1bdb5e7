/**
 * Type test of the reads' type parameters: the value type comes first everywhere, as in `get<T>`,
 * so `getMany<User>(keys)` types the values. Compiled by `npm run typetest` (never run).
 */
import type { Client, GetsResult } from "../../src/index.ts";

interface User {
  name: string;
}
declare const mc: Client;
declare const ids: string[];
declare function expectType<T>(value: T): void;

expectType<Promise<User | undefined>>(mc.get<User>("u:1"));
expectType<Promise<User | undefined>>(mc.getAndTouch<User>("u:1", 60));
expectType<Promise<GetsResult<User> | undefined>>(mc.gets<User>("u:1"));

const users = await mc.getMany<User>(ids);
expectType<User | undefined>(users.get("u:1"));
// The key type, second, is still inferred from the keys when no type is given.
const byLiteral = await mc.getMany(["a", "b"] as const);
expectType<Map<"a" | "b", unknown>>(byLiteral);
const both = await mc.getMany<User, "a" | "b">(["a", "b"]);
expectType<Map<"a" | "b", User>>(both);

// @ts-expect-error: the values are Users, not numbers
const wrong: Map<string, number> = await mc.getMany<User>(ids);
// @ts-expect-error: a key not in the key type
await mc.getMany<User, "a" | "b">(["a", "c"]);
void wrong;
