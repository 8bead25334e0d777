/**
 * API keys for ingest: `Authorization: Bearer <key>`. Keys are compared as
 * SHA-256 digests with timingSafeEqual, so the time taken says nothing about
 * how much of a key matched. With no keys configured, requests pass only when
 * `anonymous` is on (`realer dev`), and are refused otherwise.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyRequest } from "fastify";
import { IngestUnauthorized } from "../errors.js";

const digest = (s: string) => createHash("sha256").update(s).digest();

export function keyChecker(keys: readonly string[], anonymous: boolean): (req: FastifyRequest) => void {
  const digests = keys.map(digest);
  return (req) => {
    if (digests.length === 0 && anonymous) return;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(String(req.headers.authorization ?? ""));
    if (!m) throw new IngestUnauthorized();
    const d = digest(m[1]!);
    let ok = false;
    for (const k of digests) ok = timingSafeEqual(k, d) || ok;
    if (!ok) throw new IngestUnauthorized();
  };
}
