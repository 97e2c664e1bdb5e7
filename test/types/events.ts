/**
 * Type test of the client's events: listeners are checked against {@link ClientEvents}, and an event
 * name the client never emits does not compile. Compiled by `npm run typetest` (never run).
 */
import type { Client, ClientEvents, ClientListener } from "../../src/index.ts";

declare const mc: Client;
declare function expectType<T>(value: T): void;

mc.on("serverDown", ({ server, error }) => {
  expectType<string>(server);
  expectType<Error>(error);
});
mc.once("serverUp", ({ server }) => expectType<string>(server));
mc.on("topologyChange", (change) => expectType<string[]>(change.added));
mc.prependListener("writeFailure", ({ key }) => expectType<string>(key));
mc.on("staleServed", ({ key }) => expectType<string | Buffer>(key));
const onError = (e: ClientEvents["topologyError"]) => expectType<"dns" | "discovery">(e.source);
mc.addListener("topologyError", onError).off("topologyError", onError);
mc.removeListener("topologyError", onError);
const onDown: ClientListener<"serverDown"> = ({ error }) => expectType<Error>(error);
mc.prependOnceListener("serverDown", onDown);
expectType<ClientListener<"serverDown">[]>(mc.listeners("serverDown"));
expectType<number>(mc.listenerCount("staleServed"));
mc.removeAllListeners("serverFlushed").removeAllListeners();

// @ts-expect-error: no such event (a typo of serverDown)
mc.on("serverDwn", () => {});
// @ts-expect-error: the client never emits `error`
mc.once("error", () => {});
// @ts-expect-error: serverUp carries no error
mc.on("serverUp", ({ error }) => error);
// @ts-expect-error: the listener gets one payload object, not (server, error)
mc.on("serverDown", (server: string, error: Error) => [server, error]);
// @ts-expect-error: a listener of another event
mc.off("serverDown", onError);
// @ts-expect-error: no such event
mc.removeAllListeners("serverdown");
// @ts-expect-error: no such event
mc.listenerCount("topology");
// @ts-expect-error: the payload of serverUp is { server }
mc.emit("serverUp", { label: "h:1" });
