/**
 * JSON bodies onto protobuf schemas. Field names may be written as in the
 * .proto file (`thread_id`) or in camelCase (`threadId`), as protobuf's own
 * JSON mapping allows. protobufjs drops fields it does not know without a
 * word, so a misspelt field would store an event with that field empty:
 * `unknownField` finds such a field by comparing the body with what the
 * schema decodes back.
 */

const isPlain = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Snake_case keys to camelCase, at every depth (map keys too: write those in camelCase if they contain "_"). */
export function camelKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(camelKeys);
  if (!isPlain(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v))
    out[k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())] = camelKeys(val);
  return out;
}

/**
 * The path of the first field of `body` that `decoded` (the body encoded and
 * decoded again, with defaults) does not have, or undefined when all are known.
 */
export function unknownField(body: unknown, decoded: unknown, path = "data"): string | undefined {
  if (Array.isArray(body) && Array.isArray(decoded)) {
    for (let i = 0; i < body.length; i++) {
      const f = unknownField(body[i], decoded[i], `${path}[${i}]`);
      if (f) return f;
    }
    return undefined;
  }
  if (!isPlain(body)) return undefined;
  if (!isPlain(decoded)) return Object.keys(body).length > 0 ? `${path}.${Object.keys(body)[0]}` : undefined;
  for (const [k, v] of Object.entries(body)) {
    if (!(k in decoded)) return `${path}.${k}`;
    const f = unknownField(v, decoded[k], `${path}.${k}`);
    if (f) return f;
  }
  return undefined;
}
