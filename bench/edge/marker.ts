/**
 * What the load generator publishes and looks for. Every message carries a
 * marker `@@<n>|<t>@@`: n numbers the messages of one channel from 0, t is
 * the publish time in microseconds on the wall clock shared by every
 * process of this machine. Clients scan raw socket bytes for markers, so
 * the same parser reads nchan's and realer's framing without decoding JSON.
 */

/** Wall-clock microseconds, comparable between processes. */
export const nowUs = (): number => Math.round((performance.timeOrigin + performance.now()) * 1000);

export const marker = (n: number, tUs: number): string => `@@${n}|${tUs}@@`;

const AT = 0x40;
const BAR = 0x7c;
const ZERO = 0x30;

/**
 * Finds markers in a byte stream that arrives in arbitrary pieces. A marker
 * split between two pieces is kept until the rest arrives.
 */
export class MarkerScanner {
  #rest: Buffer | undefined;

  /** Calls `found(n, t)` for every whole marker in `chunk` (and any carried from the last one). */
  feed(chunk: Buffer, found: (n: number, tUs: number) => void): void {
    const buf = this.#rest ? Buffer.concat([this.#rest, chunk]) : chunk;
    this.#rest = undefined;
    let i = 0;
    for (;;) {
      const a = buf.indexOf("@@", i);
      if (a < 0) {
        if (buf.length > 0 && buf[buf.length - 1] === AT)
          this.#rest = Buffer.from(buf.subarray(buf.length - 1));
        return;
      }
      let n = 0;
      let t = 0;
      let j = a + 2;
      let c = buf[j];
      while (c !== undefined && c !== BAR) {
        n = n * 10 + (c - ZERO);
        c = buf[++j];
      }
      c = buf[++j];
      while (c !== undefined && c !== AT) {
        t = t * 10 + (c - ZERO);
        c = buf[++j];
      }
      if (c === undefined || buf[j + 1] === undefined) {
        this.#rest = Buffer.from(buf.subarray(a));
        return;
      }
      found(n, t);
      i = j + 2;
    }
  }
}
