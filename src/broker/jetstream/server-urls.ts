/**
 * NATS server URLs as realer takes them, credentials included: `nats://user:password@host:4222`,
 * or `nats://token@host:4222`. The NATS client ignores credentials written in a URL, so they are
 * taken out here and passed as connect options, and URLs are only ever shown without them.
 */
import { ConfigInvalid } from "../../errors.js";

export interface NatsServers {
  /** The URLs without credentials. */
  servers: string[];
  user?: string;
  pass?: string;
  token?: string;
  /** The URLs for messages and logs: credentials left out. */
  shown: string;
}

export function parseServers(input: string | string[]): NatsServers {
  const list = (Array.isArray(input) ? input : [input]).map((s) => s.trim()).filter(Boolean);
  const servers: string[] = [];
  let credentials: { user?: string; pass?: string; token?: string } | undefined;
  let credentialsOf: string | undefined;
  for (const raw of list) {
    if (!raw.includes("@")) {
      servers.push(raw);
      continue;
    }
    let url: URL;
    try {
      url = new URL(raw.includes("://") ? raw : `nats://${raw}`);
    } catch {
      throw new ConfigInvalid(
        `a NATS URL with credentials that is not a URL (${raw.slice(raw.indexOf("@"))})`,
      );
    }
    const user = decodeURIComponent(url.username);
    const pass = decodeURIComponent(url.password);
    // A user name alone is a token, as the NATS tools read it.
    const found = url.password ? { user, pass } : { token: user };
    const bare = `${url.protocol}//${url.host}`;
    if (credentials && JSON.stringify(found) !== JSON.stringify(credentials))
      throw new ConfigInvalid(
        `the NATS URLs ${credentialsOf} and ${bare} carry different credentials; one connection has one`,
      );
    credentials = found;
    credentialsOf ??= bare;
    servers.push(bare);
  }
  return { servers, ...credentials, shown: servers.join(",") };
}
