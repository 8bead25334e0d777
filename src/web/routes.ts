/**
 * The browser client at `/client.js` (and its typings at `/client.d.ts`),
 * served by every edge so a page needs nothing but an import.
 */
import { readFile } from "node:fs/promises";
import type { FastifyInstance } from "fastify";

const WEB = new URL("./", import.meta.url);

export function webRoutes() {
  return async (app: FastifyInstance) => {
    const [js, dts] = await Promise.all([
      readFile(new URL("client.js", WEB)),
      readFile(new URL("client.d.ts", WEB)),
    ]);
    app.get("/client.js", async (_req, reply) =>
      reply.type("text/javascript; charset=utf-8").header("cache-control", "public, max-age=300").send(js),
    );
    app.get("/client.d.ts", async (_req, reply) => reply.type("text/plain; charset=utf-8").send(dts));
  };
}
