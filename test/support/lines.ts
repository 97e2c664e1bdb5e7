/**
 * For the tests' own small servers: the request lines a socket receives, each whole, in order —
 * several may come in one chunk, or one split over chunks.
 */
import type { Socket } from "node:net";

/** Calls `onLine` with each CRLF-ended line `socket` receives (without the CRLF). */
export function eachLine(socket: Socket, onLine: (line: string) => void): void {
  let buf = "";
  socket.on("data", (d: Buffer) => {
    buf += d.toString("latin1");
    for (let i = buf.indexOf("\r\n"); i >= 0; i = buf.indexOf("\r\n")) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 2);
      onLine(line);
    }
  });
}
