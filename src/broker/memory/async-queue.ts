/**
 * A single-consumer async queue: producers `push` synchronously, one consumer
 * iterates. `end()` finishes the iteration once the queue drains.
 * Used by the in-memory broker to hand messages to iterators.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  readonly #items: T[] = [];
  #waiter: ((r: IteratorResult<T>) => void) | undefined;
  #ended = false;
  #onReturn: (() => void) | undefined;

  constructor(onReturn?: () => void) {
    this.#onReturn = onReturn;
  }

  get size(): number {
    return this.#items.length;
  }

  get ended(): boolean {
    return this.#ended;
  }

  push(item: T): void {
    if (this.#ended) return;
    const w = this.#waiter;
    if (w) {
      this.#waiter = undefined;
      w({ value: item, done: false });
    } else {
      this.#items.push(item);
    }
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#items.length === 0) {
      const w = this.#waiter;
      this.#waiter = undefined;
      w?.({ value: undefined, done: true });
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.#items.length > 0) return Promise.resolve({ value: this.#items.shift()!, done: false });
        if (this.#ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => {
          this.#waiter = resolve;
        });
      },
      return: () => {
        this.#items.length = 0;
        this.end();
        this.#onReturn?.();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}

/** `each` over any async iterable: a `Fetch` for brokers whose deliveries come through an iterator. */
export function iterableFetch<T>(
  it: AsyncIterable<T>,
): AsyncIterable<T> & { each(fn: (t: T) => void): Promise<void> } {
  return {
    [Symbol.asyncIterator]: () => it[Symbol.asyncIterator](),
    async each(fn) {
      for await (const t of it) fn(t);
    },
  };
}
