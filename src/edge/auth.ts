/**
 * Subscribe tokens for private channels: a JWT whose `channels` claim lists
 * the channel patterns it allows (channel-pattern.ts) and whose `exp` says
 * until when. HMAC (HS256/384/512, a shared secret) and public-key
 * (RS*, PS*, ES*, EdDSA, a PEM public key) tokens are accepted, each only
 * when its key is configured. Public channels need no token; a private
 * channel never falls back to public: no token, a bad one or one that does
 * not allow it is a refusal with a code.
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import { type JWTPayload, errors as joseErrors, jwtVerify } from "jose";
import type { EdgeAuthConfig } from "../config/config.js";
import { AuthRequired, ChannelForbidden, TokenExpired, TokenInvalid } from "../errors.js";
import { matchesAny } from "./channel-pattern.js";

const HMAC_ALGS = ["HS256", "HS384", "HS512"];
const PUBLIC_ALGS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
];

export interface Grant {
  /** When the token stops allowing the private channels (Unix ms); undefined: no private channel asked for. */
  expiresAt: number | undefined;
}

export class SubscribeAuth {
  readonly #o: EdgeAuthConfig;
  readonly #hmac: Uint8Array | undefined;
  readonly #publicKey: KeyObject | undefined;
  readonly #algorithms: string[];

  constructor(o: EdgeAuthConfig) {
    this.#o = o;
    this.#hmac = o.hmacSecret ? new TextEncoder().encode(o.hmacSecret) : undefined;
    this.#publicKey = o.publicKey ? createPublicKey(o.publicKey) : undefined;
    this.#algorithms = [...(this.#hmac ? HMAC_ALGS : []), ...(this.#publicKey ? PUBLIC_ALGS : [])];
  }

  isPrivate(channel: string): boolean {
    return matchesAny(this.#o.privateChannels, channel);
  }

  /** Allows `channels` or throws the refusal (401 / 403 with a REALER_ERR_* code). */
  async authorize(channels: readonly string[], token: string | undefined): Promise<Grant> {
    const priv = channels.filter((c) => this.isPrivate(c));
    if (priv.length === 0) return { expiresAt: undefined };
    if (this.#algorithms.length === 0) {
      throw new ChannelForbidden(
        JSON.stringify(priv[0]),
        "private channels are off on this edge (no token key is configured)",
      );
    }
    if (!token) throw new AuthRequired(JSON.stringify(priv[0]));
    const claims = await this.#verify(token);
    const allowed = Array.isArray(claims.channels)
      ? claims.channels.filter((p): p is string => typeof p === "string")
      : [];
    for (const c of priv) {
      if (!matchesAny(allowed, c))
        throw new ChannelForbidden(JSON.stringify(c), "the token's channels claim does not include it");
    }
    return { expiresAt: (claims.exp as number) * 1000 };
  }

  async #verify(token: string): Promise<JWTPayload> {
    try {
      const { payload } = await jwtVerify(
        token,
        async (header) => {
          const key = header.alg.startsWith("HS") ? this.#hmac : this.#publicKey;
          if (!key) throw new TokenInvalid(`algorithm ${header.alg} is not accepted here`);
          return key;
        },
        {
          algorithms: this.#algorithms,
          requiredClaims: ["exp"],
          ...(this.#o.issuer ? { issuer: this.#o.issuer } : {}),
          ...(this.#o.audience ? { audience: this.#o.audience } : {}),
        },
      );
      return payload;
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw new TokenExpired();
      if ((err as { code?: string }).code === "REALER_ERR_TOKEN_INVALID") throw err;
      throw new TokenInvalid((err as Error).message);
    }
  }
}
