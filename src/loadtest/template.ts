/**
 * URL and body templates: text with `{name}` placeholders, compiled once
 * and rendered per message or per subscriber. Only known names are
 * placeholders, so JSON braces around them stay as they are.
 */

/** What a template can name. */
export interface TemplateVars {
  /** The channel's name, e.g. `bench-3`. */
  channel: string;
  /** The channel's index, from 0. */
  i: number;
  /** The message's number in its channel, from 0. */
  n: number;
  /** Publish time, wall-clock microseconds. */
  t: number;
  /** Publish time, wall-clock milliseconds. */
  ms: number;
  /** What subscribers look for: `@@<i>|<n>|<t>@@` (marker.ts). */
  marker: string;
  /** A unique id of the message in this run (realer's dedupe id: a retried publish is stored once). */
  id: string;
  /** The subscriber's index (SSE URLs only). */
  sub: number;
}

export type VarName = keyof TemplateVars;

export const MESSAGE_VARS: readonly VarName[] = ["channel", "i", "n", "t", "ms", "marker", "id"];
export const SUBSCRIBER_VARS: readonly VarName[] = ["channel", "i", "sub"];

export type Rendered = (v: Partial<TemplateVars>) => string;

/**
 * Compiles `text`, allowing the names in `allowed`. Throws an Error whose
 * message names the bad placeholder. With `encode`, values are
 * percent-encoded (for URLs).
 */
export function compileTemplate(
  what: string,
  text: string,
  allowed: readonly VarName[],
  encode = false,
): Rendered {
  const parts: (string | VarName)[] = [];
  const names: boolean[] = [];
  let last = 0;
  for (const m of text.matchAll(/\{([A-Za-z_]+)\}/g)) {
    const name = m[1]!;
    if (!(allowed as readonly string[]).includes(name)) {
      throw new Error(
        `${what}: unknown placeholder {${name}}; it may use ${allowed.map((a) => `{${a}}`).join(", ")}`,
      );
    }
    parts.push(text.slice(last, m.index));
    names.push(false);
    parts.push(name as VarName);
    names.push(true);
    last = m.index + m[0].length;
  }
  parts.push(text.slice(last));
  names.push(false);
  return (v) => {
    let out = "";
    for (let k = 0; k < parts.length; k++) {
      const p = parts[k]!;
      if (!names[k]) out += p;
      else {
        const value = String(v[p as VarName] ?? "");
        out += encode ? encodeURIComponent(value) : value;
      }
    }
    return out;
  };
}

/** The placeholders `text` uses. */
export function placeholders(text: string): string[] {
  return [...text.matchAll(/\{([A-Za-z_]+)\}/g)].map((m) => m[1]!);
}
