/** The connections the client keeps to each server: how many, and when an idle one is closed or replaced. */
import { InvalidArgumentError } from "../errors.js";
import { type Defined, positive, positiveInt } from "./arguments.js";

/**
 * Connections per server: `min` kept once the server has had traffic, up to `max` (another is opened
 * when the least-loaded one is half full of requests), and one above `min` unused for
 * `idleTimeoutMillis` is closed.
 */
export interface ConnectionPoolOptions {
  /** Connections kept once the server has had traffic. Default 1. */
  min?: number | undefined;
  /** Most connections to one server. Default 2. */
  max?: number | undefined;
  /** Ms after which an unused connection above `min` is closed. Default 30,000. */
  idleTimeoutMillis?: number | undefined;
  /**
   * A connection unused for longer than this, ms, gets a new socket before its next request (for
   * servers, NATs or load balancers that drop idle connections without a word). Default 0: only
   * after this process was frozen (a Lambda sandbox between invocations, SIGSTOP) or blocked for
   * seconds. A connection the server closed is never written to in any case.
   */
  reconnectIdleMillis?: number | undefined;
}

/** Checks `p` and fills in the defaults. */
export function resolvePool(p: ConnectionPoolOptions): Defined<ConnectionPoolOptions> {
  if (p === null || typeof p !== "object") {
    throw new InvalidArgumentError("pool must be { min, max, idleTimeoutMillis, reconnectIdleMillis }");
  }
  const max = positiveInt("pool.max", p.max, 2);
  const min = p.min === 0 ? 0 : positiveInt("pool.min", p.min, 1);
  if (min > max) throw new InvalidArgumentError("pool.min must not be over pool.max");
  return Object.freeze({
    min,
    max,
    idleTimeoutMillis: positive("pool.idleTimeoutMillis", p.idleTimeoutMillis, 30_000),
    reconnectIdleMillis:
      p.reconnectIdleMillis === 0 ? 0 : positive("pool.reconnectIdleMillis", p.reconnectIdleMillis, 0),
  });
}
