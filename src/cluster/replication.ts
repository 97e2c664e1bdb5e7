/**
 * Writes with replicas (see `Replication.replicate`): fanned out to every copy, or run on the owner
 * and the other copies aligned after it. Part of `Cluster.execute`; attempts are made by the cluster.
 */
import { type Frame, Op } from "../protocol/frame.js";
import { Call, type CallAttempt, Failed } from "./call.js";
import type { ClusterOptions } from "./cluster-options.js";
import type { Membership, RoutingKey } from "./membership.js";
import { isIdempotent } from "./policy.js";
import type { Server } from "./server.js";

/** Makes and sends one attempt of `call` on `server` (the cluster's). */
type MakeAttempt = (call: Call, server: Server | undefined, timeout: number, replica: number) => CallAttempt;

export class Replication {
  constructor(
    readonly membership: Membership,
    readonly options: ClusterOptions,
    readonly attempt: MakeAttempt,
  ) {}

  /**
   * A write with replicas. An idempotent one (set, delete, touch) goes to every replica in
   * parallel; the call resolves with the first replica's answer in replica order (owner first) once
   * all have answered, and rejects only when every replica failed. The others (cas, add, replace,
   * append, prepend, incr, decr) would diverge if each replica decided for itself (a replica that
   * came back empty would take an `add` its owner refuses, or restart a counter): they run on the
   * owner alone, and the other replicas are then brought in line before the call resolves.
   */
  replicate(call: Call, key: RoutingKey): void {
    const owners = this.membership.replicasOf(key);
    if (owners.length <= 1) {
      this.attempt(call, owners[0], call.timeout, 0);
      return;
    }
    if (!isIdempotent(call.frame)) {
      call.copies = owners.slice(1);
      this.attempt(call, owners[0], call.timeout, 0);
      return;
    }
    call.outcomes = new Array<unknown>(owners.length);
    call.pending = owners.length;
    for (let i = 0; i < owners.length; i++) this.attempt(call, owners[i], call.timeout, i);
  }

  /** One replica's outcome of a fanned-out write (or a {@link Failed} mark); the call settles with the last. */
  replicaDone(a: CallAttempt, outcome: unknown): void {
    const call = a.call;
    call.outcomes![a.replica] = outcome;
    if (--call.pending > 0) return;
    const answered = call.outcomes!.findIndex((o) => !(o instanceof Failed));
    if (answered >= 0) call.succeed(call.outcomes![answered]);
    else call.fail((call.outcomes![0] as Failed).error);
  }

  /**
   * The owner answered a non-idempotent write: a cas it accepted is copied to the other replicas
   * with a plain set (the same value); after anything else the key is deleted on them, so none can
   * serve a value the owner no longer has (a miss is always allowed). The call resolves with the
   * owner's answer once they have answered; a replica that fails is noted for clean-up.
   */
  alignReplicas(call: Call, value: unknown): void {
    let frame: Frame;
    let handler = call.handler;
    if (call.frame.cas !== null && value === true) {
      frame = call.frame.copy();
      frame.cas = null;
    } else {
      frame = call.frame.copy(Op.Delete);
      handler = this.options.deleteHandler;
    }
    const left = Math.max(1, call.endsAt() - performance.now());
    const copies = call.copies!.map((server) => {
      const copy = new Call(frame, handler, left);
      copy.routingKey = call.routingKey;
      this.attempt(copy, server, copy.timeout, 0);
      return copy.promise;
    });
    Promise.allSettled(copies).then(() => call.succeed(value));
  }
}
