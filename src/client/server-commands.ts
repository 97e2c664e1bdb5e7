/**
 * Commands addressed to servers rather than keys: `stats`, `version`, `flush_all` and `mn`, one
 * call per server, answered as `{ "host:port": result }`.
 */
import type { Call } from "../cluster/call.js";
import type { Cluster } from "../cluster/cluster.js";
import { InvalidArgumentError } from "../errors.js";
import type { CallOptions, FlushOptions } from "../options.js";
import { Frame, Op } from "../protocol/frame.js";
import { MAX_SECONDS } from "./arguments.js";
import type { CallBuilder } from "./call-builder.js";
import { type CallShape, invalidOptions, optionsAreValid, SHAPES } from "./call-options.js";

export class ServerCommands {
  constructor(
    readonly cluster: Cluster,
    readonly build: CallBuilder,
  ) {}

  async stats(group: string, options?: CallOptions): Promise<Record<string, Record<string, string>>> {
    checkOptions(options, SHAPES.stats);
    if (typeof group !== "string" || !/^[a-z_ ]*$/.test(group))
      throw new InvalidArgumentError(`bad stats group ${JSON.stringify(group)}`);
    return this.#everyServer(false, () => {
      const frame = new Frame(Op.Stats);
      frame.arg = group;
      const call = this.build.call(frame, this.build.handlers.stats, options);
      call.result = {};
      return call;
    }) as Promise<Record<string, Record<string, string>>>;
  }

  async version(options?: CallOptions): Promise<Record<string, string>> {
    checkOptions(options, SHAPES.version);
    const h = this.build.handlers;
    return this.#everyServer(false, () =>
      this.build.call(new Frame(Op.Version), h.version, options),
    ) as Promise<Record<string, string>>;
  }

  async flush(options?: FlushOptions): Promise<void> {
    checkOptions(options, SHAPES.flush);
    const delay = options?.delay;
    if (delay !== undefined && !(Number.isInteger(delay) && delay >= 0 && delay <= MAX_SECONDS)) {
      throw new InvalidArgumentError(`flush delay must be an integer from 0 to ${MAX_SECONDS} (seconds)`);
    }
    await this.#everyServer(true, () => {
      const frame = new Frame(Op.Flush);
      frame.arg = delay === undefined ? "" : String(delay);
      return this.build.call(frame, this.build.handlers.flush, options);
    });
  }

  async ping(options?: CallOptions): Promise<void> {
    checkOptions(options, SHAPES.ping);
    await this.#everyServer(true, () =>
      this.build.call(new Frame(Op.Noop), this.build.handlers.noop, options),
    );
  }

  /** One call (from `make`) to each server (`all`: every server, else those up): `{ label: result }`. */
  async #everyServer(all: boolean, make: () => Call): Promise<Record<string, unknown>> {
    const results = await Promise.all(this.cluster.executeOnEach(all, make));
    return Object.fromEntries(results);
  }
}

function checkOptions(options: object | undefined, shape: CallShape): void {
  if (options !== undefined && !optionsAreValid(options, shape)) throw invalidOptions(options, shape);
}
