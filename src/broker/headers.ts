/**
 * Which message headers NATS takes, and how to carry any header safely.
 *
 * The NATS client refuses a header whose name has a character outside
 * printable ASCII (33-126) or a colon, and a value with CR or LF; `Nats-*`
 * names steer the server (dedupe id, expected stream or sequence). A
 * publish with a refused header fails whole. So producers refuse them up
 * front (`headerProblem`), the in-memory broker refuses what NATS refuses
 * (`natsRefuses`), and what realer copies from producer input into a
 * message of its own (a dead letter) goes through `carryHeaders`, which
 * never yields a header NATS refuses.
 */

/** Why NATS would refuse this header in a publish, or undefined: the client's own rules. */
export function natsRefuses(name: string, value: string): string | undefined {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 33 || c > 126 || c === 58) return `its name has ${JSON.stringify(name[i])}`;
  }
  if (/[\r\n]/.test(value)) return "its value has CR or LF";
  return undefined;
}

// Control characters: C0 and DEL.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Why a producer may not send this header, or undefined: NATS's rules, plus
 * no empty name, no reserved `Nats-` prefix and no control character in the
 * value (tab included).
 */
export function headerProblem(name: string, value: string): string | undefined {
  if (name.length === 0) return "its name is empty";
  const nats = natsRefuses(name, value);
  if (nats) return nats;
  if (/^nats-/i.test(name)) return "Nats-* names are reserved for the NATS server";
  if (CONTROL.test(value)) return "its value has a control character";
  return undefined;
}

/** Producer text that becomes a header value (an event id, a trace id): why it may not, or undefined. */
export function valueProblem(value: string): string | undefined {
  return CONTROL.test(value) ? "it has a control character" : undefined;
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
