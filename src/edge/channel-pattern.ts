/**
 * Channel patterns, in the channel grammar's own terms: segments joined by
 * ':'; `*` matches exactly one segment, a final `>` one or more
 * (`private:>` matches `private:ann` and `private:ann:inbox`; `user:*`
 * matches `user:ann` only). Pure.
 */
export function matchesChannel(pattern: string, channel: string): boolean {
  if (pattern === channel) return true;
  const p = pattern.split(":");
  const c = channel.split(":");
  for (let i = 0; i < p.length; i++) {
    const tok = p[i];
    if (tok === ">" && i === p.length - 1) return c.length > i;
    if (i >= c.length) return false;
    if (tok !== "*" && tok !== c[i]) return false;
  }
  return p.length === c.length;
}

export function matchesAny(patterns: readonly string[], channel: string): boolean {
  for (const p of patterns) if (matchesChannel(p, channel)) return true;
  return false;
}
