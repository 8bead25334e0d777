/**
 * The demo domain: comments on a thread (proto/examples/comments/v1).
 * Created, edited and deleted comments go to the thread's channel and to the
 * author's channel.
 */
import { comments } from "../events/proto.js";
import type { EventRegistry } from "../events/registry.js";
import type { Handler } from "../pipeline/handler.js";
import { eventType } from "../producer/typed.js";

export const CommentCreated = eventType<comments.v1.ICommentCreated>(comments.v1.CommentCreated);
export const CommentEdited = eventType<comments.v1.ICommentEdited>(comments.v1.CommentEdited);
export const CommentDeleted = eventType<comments.v1.ICommentDeleted>(comments.v1.CommentDeleted);

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};
const HTML_SPECIAL = /[&<>"']/;
// The test first: most texts have nothing to escape, and a global replace with a function costs a runtime call even then.
export const escapeHtml = (s: string) =>
  HTML_SPECIAL.test(s) ? s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!) : s;

interface CommentBody {
  id: string;
  threadId: string;
  author: string;
  text: string;
  createdAt: number;
}

export function registerComments(registry: EventRegistry): Map<string, Handler> {
  registry.register(CommentCreated as never, CommentEdited as never, CommentDeleted as never);
  return new Map<string, Handler>([
    [
      CommentCreated.name,
      {
        routes: ["thread:{comment.thread_id}"],
        format: (body) => {
          const c = body.comment as CommentBody;
          return {
            type: "comment.created",
            data: {
              id: c.id,
              threadId: c.threadId,
              author: c.author,
              html: escapeHtml(c.text),
              createdAt: c.createdAt,
            },
          };
        },
      },
    ],
    [
      CommentEdited.name,
      {
        routes: ["thread:{thread_id}"],
        format: (b) => ({
          type: "comment.edited",
          data: {
            id: b.commentId,
            threadId: b.threadId,
            author: b.author,
            html: escapeHtml(String(b.text)),
            editedAt: b.editedAt,
          },
        }),
      },
    ],
    [
      CommentDeleted.name,
      {
        routes: ["thread:{thread_id}"],
        format: (b) => ({ type: "comment.deleted", data: { id: b.commentId, threadId: b.threadId } }),
      },
    ],
  ]);
}
