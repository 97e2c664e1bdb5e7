/**
 * Type test of the Keyv adapter with Keyv 6 under `exactOptionalPropertyTypes`: as Keyv's first
 * argument and as its `store` option; `setMany` results typed as Keyv 6 reads them. Compiled by
 * `npm run typetest` (never run).
 */
import Keyv from "keyv6";
import type { Client } from "../../src/index.ts";
import { KeyvMemcachio } from "../../src/keyv.ts";

declare const client: Client;

const direct = new Keyv<{ id: number }>(new KeyvMemcachio(client));
const asOption = new Keyv({ store: new KeyvMemcachio({ servers: ["127.0.0.1:11211"] }), namespace: "users" });
const results: Promise<boolean[] | undefined> = new KeyvMemcachio(client).setMany([{ key: "k", value: 1 }]);
void [direct, asOption, results];
