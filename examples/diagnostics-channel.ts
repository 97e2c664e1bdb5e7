// diagnostics_channel: every request sent to a server is traced on memcachio:command, where APM agents
// hook in. A context carries the command, server and key count, never a value.
import { subscribe, tracingChannel } from "node:diagnostics_channel";
import { CHANNELS, Client, type CommandContext } from "memcachio";

tracingChannel<unknown, CommandContext>(CHANNELS.command).subscribe({
  start() {},
  end() {},
  asyncStart() {},
  asyncEnd(ctx) {
    let outcome = "";
    if (ctx.hit !== undefined) outcome = ` hit=${ctx.hit}`; // a single-key read
    if (ctx.found !== undefined) outcome = ` found=${ctx.found}`; // a getMany: how many keys were there
    console.log(`${ctx.command} ${ctx.keyCount} key(s)${outcome}`);
  },
  error(ctx) {
    console.log(`${ctx.command} failed: ${String(ctx.error)}`);
  },
});
subscribe(CHANNELS.connectionOpen, () => console.log("connection open"));

const mc = new Client({ servers: ["127.0.0.1:11211"] });
await mc.set("a", 1);
await mc.get("a");
await mc.getMany(["a", "b", "c"]);
await mc.close();
