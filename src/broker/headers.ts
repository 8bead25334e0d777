/**
 * Which message headers NATS takes, and how to carry any header safely.
 *
 * The NATS client refuses a header whose name has a character outside
 * printable ASCII (33-126) or a colon, and a value with CR or LF; `Nats-*`
 * names steer the server (dedupe id, expected stream or sequence). A
 * publish with a refused header fails whole. So producers refuse them up
 * front (the envelope rules, `headerProblem`), the in-memory broker refuses
 * what NATS refuses (`natsRefuses`), and what realer copies from producer
 * input into a message of its own (a dead letter) goes through
 * `carryHeaders`, which never yields a header NATS refuses.
 */
import { headerProblem, valueProblem } from "../events/envelope-rules.js";

/** Why NATS would refuse this header in a publish, or undefined: the client's own rules. */
export function natsRefuses(name: string, value: string): string | undefined {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 33 || c > 126 || c === 58) return `its name has ${JSON.stringify(name[i])}`;
  }
  if (/[\r\n]/.test(value)) return "its value has CR or LF";
  return undefined;
}

/** Percent-encoded: printable ASCII only. Lone surrogates (which encodeURIComponent throws on) become U+FFFD. */
export function encode(s: string): string {
  return encodeURIComponent(
    s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd"),
  );
}

/** `value` as it is when a header may carry it (`valueProblem`), percent-encoded otherwise. */
export function headerValue(value: string): string {
  return valueProblem(value) || /[\r\n]/.test(value) ? encode(value) : value;
}

export interface CarriedHeaders {
  headers: Record<string, string>;
  /** Headers left out: over the byte budget. */
  omitted: number;
}

/**
 * `headers` as NATS takes them, within `maxBytes` (names and values): a
 * header that `headerProblem` accepts is kept as it is; any other is kept
 * percent-encoded as `<prefix><name>` (so `Nats-Msg-Id` cannot steer a
 * publish, and CR, LF or a bad name cannot fail it); past the budget the
 * rest are counted in `omitted`.
 */
export function carryHeaders(
  headers: Record<string, string>,
  prefix: string,
  maxBytes: number,
): CarriedHeaders {
  const out: Record<string, string> = {};
  let bytes = 0;
  let omitted = 0;
  for (const [name, value] of Object.entries(headers)) {
    const ok = headerProblem(name, value) === undefined;
    const k = ok ? name : `${prefix}${encode(name)}`;
    const v = ok ? value : encode(value);
    const size = Buffer.byteLength(k) + Buffer.byteLength(v) + 4;
    if (bytes + size > maxBytes) {
      omitted++;
      continue;
    }
    bytes += size;
    out[k] = v;
  }
  return { headers: out, omitted };
}
