/** Counts open connections per client address, so one address cannot hold them all. */
export class AddressLimit {
  readonly #open = new Map<string, number>();
  readonly #max: number;

  /** `max` 0: no limit. */
  constructor(max: number) {
    this.#max = max;
  }

  /** Takes a slot for `address`; false when it already holds `max`. */
  acquire(address: string): boolean {
    const n = this.#open.get(address) ?? 0;
    if (this.#max > 0 && n >= this.#max) return false;
    this.#open.set(address, n + 1);
    return true;
  }

  release(address: string): void {
    const n = (this.#open.get(address) ?? 0) - 1;
    if (n > 0) this.#open.set(address, n);
    else this.#open.delete(address);
  }

  held(address: string): number {
    return this.#open.get(address) ?? 0;
  }
}
