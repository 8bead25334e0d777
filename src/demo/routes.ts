/**
 * The demo: a comment thread page and the endpoints it posts to. The
 * endpoints stand in for a web app's save and delete hooks: each emits an
 * event through the producer, exactly as an application would.
 */
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { FastifyInstance } from "fastify";
import type { Producer } from "../producer/producer.js";
import { CommentCreated, CommentDeleted, CommentEdited } from "./comments.js";

const WEB = new URL("../web/", import.meta.url);
const ASSETS: Record<string, string> = {
  "index.html": "text/html; charset=utf-8",
  "demo.js": "text/javascript; charset=utf-8",
  "demo.css": "text/css; charset=utf-8",
};

const params = {
  type: "object",
  properties: {
    thread: { type: "string", pattern: "^[A-Za-z0-9_-]{1,64}$" },
    id: { type: "string", maxLength: 64 },
  },
} as const;
const body = {
  type: "object",
  required: ["author", "text"],
  additionalProperties: false,
  properties: {
    author: { type: "string", minLength: 1, maxLength: 64 },
    text: { type: "string", minLength: 1, maxLength: 4000 },
  },
} as const;

interface P {
  thread: string;
  id: string;
}
interface B {
  author: string;
  text: string;
}

export function demoRoutes(producer: Producer) {
  return async (app: FastifyInstance) => {
    const cache = new Map<string, Buffer>();
    const asset = async (name: string) => {
      let b = cache.get(name);
      if (!b) {
        b = await readFile(new URL(name, WEB));
        cache.set(name, b);
      }
      return b;
    };
    app.get("/", async (_req, reply) => reply.type(ASSETS["index.html"]!).send(await asset("index.html")));
    for (const name of Object.keys(ASSETS)) {
      app.get(`/demo/${name}`, async (_req, reply) => reply.type(ASSETS[name]!).send(await asset(name)));
    }

    app.post<{ Params: P; Body: B }>(
      "/demo/threads/:thread/comments",
      { schema: { params, body } },
      async (req, reply) => {
        const comment = {
          id: randomUUID(),
          threadId: req.params.thread,
          author: req.body.author,
          text: req.body.text,
          createdAt: Date.now(),
        };
        const { ack } = await producer.emit(CommentCreated, `thread:${req.params.thread}`, { comment });
        reply.code(202);
        return { id: comment.id, seq: ack.seq };
      },
    );

    app.patch<{ Params: P; Body: B }>(
      "/demo/threads/:thread/comments/:id",
      { schema: { params, body } },
      async (req, reply) => {
        const { ack } = await producer.emit(CommentEdited, `thread:${req.params.thread}`, {
          commentId: req.params.id,
          threadId: req.params.thread,
          author: req.body.author,
          text: req.body.text,
          editedAt: Date.now(),
        });
        reply.code(202);
        return { id: req.params.id, seq: ack.seq };
      },
    );

    app.delete<{ Params: P }>(
      "/demo/threads/:thread/comments/:id",
      { schema: { params } },
      async (req, reply) => {
        const { ack } = await producer.emit(CommentDeleted, `thread:${req.params.thread}`, {
          commentId: req.params.id,
          threadId: req.params.thread,
        });
        reply.code(202);
        return { id: req.params.id, seq: ack.seq };
      },
    );
  };
}
