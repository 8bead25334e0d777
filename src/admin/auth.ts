/**
 * The admin token check: a bearer token compared in constant time. No token
 * configured means the admin API is off (403), never open.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyRequest } from "fastify";
import { AdminDisabled, AdminUnauthorized } from "../errors.js";

const digest = (s: string) => createHash("sha256").update(s).digest();

export function checkAdminToken(configured: string | undefined, req: FastifyRequest): void {
  if (!configured) throw new AdminDisabled();
  const h = req.headers.authorization ?? "";
  const given = h.startsWith("Bearer ") ? h.slice(7) : "";
  if (!given || !timingSafeEqual(digest(given), digest(configured))) throw new AdminUnauthorized();
}
