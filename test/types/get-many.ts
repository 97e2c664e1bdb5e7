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
/** Compiles only when `A` and `B` are the same type (not merely assignable: `any` fails too). */
type Exactly<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
declare function same<A, B>(proof: Exactly<A, B>): void;

expectType<Promise<User | undefined>>(mc.get<User>("u:1"));
expectType<Promise<User | undefined>>(mc.getAndTouch<User>("u:1", 60));
expectType<Promise<GetsResult<User> | undefined>>(mc.gets<User>("u:1"));

const users = await mc.getMany<User>(ids);
same<typeof users, Map<string, User>>(true);
const untyped = await mc.getMany(ids);
same<typeof untyped, Map<string, unknown>>(true);
// Buffer keys, or a narrower key type given second, are kept.
declare const buffers: Buffer[];
const fromBuffers = await mc.getMany(buffers);
same<typeof fromBuffers, Map<Buffer, unknown>>(true);
const both = await mc.getMany<User, "a" | "b">(["a", "b"]);
same<typeof both, Map<"a" | "b", User>>(true);

// @ts-expect-error: the values are Users, not numbers (the key type matches)
const wrong: Map<string, number> = await mc.getMany<User>(ids);
// @ts-expect-error: not the same type: any would pass an assignability check, not this one
// biome-ignore lint/suspicious/noExplicitAny: any is what this line shows the check refuses
same<Map<string, any>, Map<string, User>>(true);
// @ts-expect-error: a key not in the key type
await mc.getMany<User, "a" | "b">(["a", "c"]);
void wrong;
