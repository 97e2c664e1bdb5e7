/**
 * Type test of the Keyv adapter: it is a `KeyvStoreAdapter` of Keyv 5 under
 * `exactOptionalPropertyTypes`, both as Keyv's first argument and as its `store` option.
 * Compiled by `npm run typetest` (never run).
 */
import Keyv, { type KeyvStoreAdapter } from "keyv";
import type { Client } from "../../src/index.ts";
import { KeyvMemcachio } from "../../src/keyv.ts";

declare const client: Client;

const adapter: KeyvStoreAdapter = new KeyvMemcachio(client);
const direct = new Keyv<{ id: number }>(new KeyvMemcachio(client));
const asOption = new Keyv({ store: new KeyvMemcachio({ servers: ["127.0.0.1:11211"] }), namespace: "users" });
void [adapter, direct, asOption];

// @ts-expect-error: the adapter takes a client or client options, not a server string
new KeyvMemcachio("127.0.0.1:11211");
