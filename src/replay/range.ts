import type { AdminBroker } from "../broker/types.js";
import { ReplayRangeInvalid } from "../errors.js";
import type { ReplayRange } from "./types.js";

const isSeq = (n: number | undefined) => n === undefined || (Number.isInteger(n) && n >= 1);

/**
 * Resolves a range against what the stream stores now. A range that is
 * reversed, empty, or reaches outside the stored sequences is refused with
 * REALER_ERR_REPLAY_RANGE naming the stored bounds: replaying "up to 900"
 * on a stream that ends at 500 is a typo, not a request to wait.
 */
export async function resolveRange(
  broker: AdminBroker,
  stream: string,
  r: ReplayRange,
): Promise<{ from: number; to: number }> {
  if (!isSeq(r.fromSeq) || !isSeq(r.toSeq)) throw new ReplayRangeInvalid("sequences are integers >= 1");
  const st = await broker.streamState(stream);
  if (st.messages === 0) throw new ReplayRangeInvalid(`${stream} stores nothing`);
  const bounds = `${stream} stores ${st.firstSeq}..${st.lastSeq}`;
  let from = r.fromSeq;
  let to = r.toSeq;
  if (from === undefined && r.since !== undefined) from = await broker.seqAtTime(stream, r.since);
  if (to === undefined && r.until !== undefined) to = (await broker.seqAtTime(stream, r.until)) - 1;
  from ??= st.firstSeq;
  to ??= st.lastSeq;
  if (from > to) throw new ReplayRangeInvalid(`from ${from} is after to ${to} (${bounds})`);
  if (from < st.firstSeq || to > st.lastSeq)
    throw new ReplayRangeInvalid(`${from}..${to} is outside what ${bounds}`);
  return { from, to };
}
