/**
 * What a load test publishes and looks for. Every message carries a marker
 * `@@<c>|<n>|<t>|<w>@@`: c is the channel's index, n numbers the messages of
 * that channel from 0, t is the publish time in microseconds on the wall
 * clock shared by every process of this machine, and w says that messages
 * 0 to w-1 of the channel had all been answered by the server before this
 * one was sent (so a server that delivers one of them after this one
 * reordered what it had accepted in order). Subscribers look for
 * markers in the data of the events they receive, whatever the server wraps
 * around them (realer's JSON, nchan's raw body, Centrifugo's push), so one
 * parser reads every server's framing.
 */

/** Wall-clock microseconds, comparable between processes. */
export const nowUs = (): number => Math.round((performance.timeOrigin + performance.now()) * 1000);

/** `w` defaults to 0: it claims nothing about the order of earlier messages. */
export const marker = (channel: number, n: number, tUs: number, w = 0): string =>
  `@@${channel}|${n}|${tUs}|${w}@@`;

const AT = 0x40;
const BAR = 0x7c;
const ZERO = 0x30;
const NINE = 0x39;

/**
 * Appends (channel, n, t, w) for every whole marker in `buf[start, end)` to
 * `out`, four numbers per marker, and returns how many it found. Text that
 * looks like a marker but is not one (a digit missing, another byte inside)
 * is skipped.
 */
export function scanMarkers(buf: Buffer, start: number, end: number, out: number[]): number {
  let found = 0;
  let i = start;
  while (i < end) {
    const a = buf.indexOf("@@", i);
    if (a < 0 || a + 2 >= end) break;
    let j = a + 2;
    const fields = [0, 0, 0, 0];
    let f = 0;
    let digits = 0;
    let ok = false;
    while (j < end) {
      const c = buf[j]!;
      if (c >= ZERO && c <= NINE) {
        fields[f] = fields[f]! * 10 + (c - ZERO);
        digits++;
      } else if (c === BAR && digits > 0 && f < 3) {
        f++;
        digits = 0;
      } else {
        ok = c === AT && f === 3 && digits > 0 && j + 1 < end && buf[j + 1] === AT;
        break;
      }
      j++;
    }
    if (ok) {
      out.push(fields[0]!, fields[1]!, fields[2]!, fields[3]!);
      found++;
      i = j + 2;
    } else {
      i = a + 1;
    }
  }
  return found;
}
