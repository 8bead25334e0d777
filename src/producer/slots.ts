/**
 * Bounded in-flight: at most `max` holders at once, at most `maxWaiting`
 * callers queued behind them (one more is refused at once, so a stalled
 * broker cannot grow memory without bound). Waiters are served in order.
 */
import { ProducerOverloaded } from "../errors.js";

export class Slots {
  readonly #max: number;
  readonly #maxWaiting: number;
  readonly #waiting: (() => void)[] = [];
  #held = 0;
  #idle: (() => void)[] = [];

  constructor(max: number, maxWaiting: number) {
    this.#max = max;
    this.#maxWaiting = maxWaiting;
  }

  get held(): number {
    return this.#held;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  /** Resolves when a slot is held; rejects with ProducerOverloaded when the queue is full. */
  acquire(): Promise<void> {
    if (this.#held < this.#max) {
      this.#held++;
      return Promise.resolve();
    }
    if (this.#waiting.length >= this.#maxWaiting)
      return Promise.reject(new ProducerOverloaded(this.#waiting.length));
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next) {
      next();
      return;
    }
    this.#held--;
    if (this.#held === 0) for (const f of this.#idle.splice(0)) f();
  }

  /** Resolves once nothing is held or waiting. */
  idle(): Promise<void> {
    if (this.#held === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}
