/**
 * Work run a bounded share per turn of the event loop: none in the turn that asks for it, then at
 * most `perTurn` a turn, after each turn's I/O (`setImmediate`), in the order asked. Connects
 * (`connection/connect-pacing.ts`) and writes (`connection/write-pacing.ts`) of a burst over
 * hundreds of servers go out this way, so that no turn carries all of them.
 */
import Denque from "denque";

/** A queue of work run a share per turn (see the module's doc). */
export class TurnWaves {
  readonly #perTurn: number;
  readonly #waiting = new Denque<() => void>();
  #scheduled = false;

  constructor(perTurn: number) {
    this.#perTurn = perTurn;
  }

  /** Runs `work` in a later turn: the next one, or a later one when that one has its share already. */
  later(work: () => void): void {
    this.#waiting.push(work);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#wave);
    }
  }

  /** Work waiting for a later turn. */
  get waiting(): number {
    return this.#waiting.length;
  }

  readonly #wave = (): void => {
    // `#scheduled` stays set while the wave runs: work asked for meanwhile waits for the next wave.
    try {
      for (let n = 0; this.#waiting.length > 0 && n < this.#perTurn; n++) this.#waiting.shift()!();
    } finally {
      if (this.#waiting.length > 0) setImmediate(this.#wave);
      else this.#scheduled = false;
    }
  };
}
