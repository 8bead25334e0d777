/**
 * A rate limit for replays: the n-th item may start no earlier than
 * `start + n / rate`, so a replay leaves the rest of the stream's capacity
 * to live traffic. Waiting is cut short by the abort signal.
 */
export class Pacer {
  readonly #rate: number;
  readonly #start = Date.now();
  #n = 0;

  /** `rate` items per second; 0 means no limit. */
  constructor(rate: number) {
    this.#rate = rate;
  }

  async next(signal?: AbortSignal): Promise<void> {
    if (this.#rate <= 0) return;
    const due = this.#start + (this.#n++ * 1000) / this.#rate;
    const wait = due - Date.now();
    if (wait <= 0 || signal?.aborted) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, wait);
      function done() {
        clearTimeout(t);
        signal?.removeEventListener("abort", done);
        resolve();
      }
      signal?.addEventListener("abort", done, { once: true });
    });
  }
}
