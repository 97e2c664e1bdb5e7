/**
 * A fault proxy in a process of its own, for `bench:hedge`: the client's event loop must not also
 * run the proxy's timers, or the proxy's delays would become the client's. Forked with the target
 * `host:port`; answers `{ port }`, then takes `{ mode, delayShare, delayMs, jitterMs }` messages
 * (answering `{ delayed }`) until `{ stop: true }`. `{ stallEvery, stallMs }` makes it hold every
 * reply for `stallMs` once every `stallEvery` ms (a server that stalls now and then; 0 stops it).
 */
import { FaultProxy, type ProxyMode } from "../test/support/proxy.ts";

const [host, port] = [process.argv[2]!, Number(process.argv[3])];
const proxy = await new FaultProxy(host, port).start();
process.send!({ port: proxy.port });
let stalls: NodeJS.Timeout | null = null;
process.on(
  "message",
  async (m: {
    mode?: ProxyMode;
    delayShare?: number;
    delayMs?: number;
    jitterMs?: number;
    stallEvery?: number;
    stallMs?: number;
    stop?: boolean;
  }) => {
    if (m.stallEvery !== undefined) {
      if (stalls !== null) clearInterval(stalls);
      stalls = null;
      if (m.stallEvery > 0) {
        const ms = m.stallMs ?? 40;
        stalls = setInterval(() => {
          proxy.mode = "delay";
          proxy.delayMs = ms;
          setTimeout(() => {
            proxy.mode = "pass";
          }, ms);
        }, m.stallEvery);
      } else proxy.mode = "pass";
    }
    if (m.stop === true) {
      await proxy.stop();
      process.exit(0);
    }
    if (m.mode !== undefined) proxy.mode = m.mode;
    if (m.delayShare !== undefined) proxy.delayShare = m.delayShare;
    if (m.delayMs !== undefined) proxy.delayMs = m.delayMs;
    if (m.jitterMs !== undefined) proxy.jitterMs = m.jitterMs;
    process.send!({ delayed: proxy.delayed });
  },
);
