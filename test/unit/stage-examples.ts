/**
 * The custom stages of docs/stages.md, as written there (keep the two the same): they use only the
 * stage API that realer exports (src/index.ts). stage-examples.test.ts runs them.
 */
import { batch, type Decoded, EventInvalid, enrich, filter, type Stage } from "../../src/index.js";

const author = (job: Decoded) => (job.body.comment as { author: string }).author;

// 1. A decision, not a failure: muted authors' comments are acked and produce nothing.
export const notMuted = (muted: ReadonlySet<string>) =>
  filter("not-muted", (job) => !muted.has(author(job)), "author is muted");

// 2. One lookup per event. The stage renews the claim while the lookup runs,
//    aborts it after timeoutMs, and retries the event later (REALER_ERR_ENRICH_TIMEOUT).
export const authorName = (profiles: {
  name(id: string, signal: AbortSignal): Promise<string | undefined>;
}) =>
  enrich(
    "author-name",
    async (job, signal) => {
      const name = await profiles.name(author(job), signal);
      // No such user can never succeed: drop (dead-letter) instead of retrying.
      if (name === undefined) throw new EventInvalid(`unknown author ${author(job)}`);
      return { authorName: name };
    },
    { timeoutMs: 2_000, heartbeatMs: 1_000 },
  );

// 2b. Or the same lookup for many events at once (one query per batch).
export const authorNames = (profiles: { names(ids: string[]): Promise<Map<string, string>> }) =>
  batch(
    "author-names",
    async (jobs) => {
      const names = await profiles.names([...new Set(jobs.map(author))]);
      return jobs.map((job) => ({
        ...job,
        context: { ...job.context, authorName: names.get(author(job)) ?? "someone" },
      }));
    },
    { maxSize: 100, maxWaitMs: 5 },
  );

export const summary: Stage<"routed", "formatted"> = {
  kind: "sync",
  name: "summary",
  failures: [],
  needs: "routed",
  gives: "formatted",
  run: (job) => {
    const rendered = {
      type: "summary",
      data: { text: (job.body.comment as { text: string }).text.slice(0, 80) },
    };
    const data = JSON.stringify(rendered.data);
    return {
      ...job,
      rendered,
      outputs: job.channels.map((channel) => ({ channel, type: rendered.type, data })),
    };
  },
};
