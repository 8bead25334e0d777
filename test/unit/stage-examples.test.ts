/** The custom stages docs/stages.md shows (stage-examples.ts) compile and behave as the page says. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { firstValueFrom, from, toArray } from "rxjs";
import { compileStages } from "../../src/pipeline/compile.js";
import type { Job } from "../../src/pipeline/job.js";
import { Renderer } from "../../src/pipeline/render.js";
import { route } from "../../src/pipeline/route.js";
import type { AnyStage } from "../../src/pipeline/stage.js";
import { authorName, authorNames, notMuted, summary } from "./stage-examples.js";
import { commentEvent, decodedJob, domain, outcome } from "./stage-fixtures.js";

const run = (stages: AnyStage[], jobs: Job[]) =>
  firstValueFrom(from(jobs).pipe(compileStages(stages), toArray()));
const { handlers } = domain();
/** A comment event by author "ann" (stage-fixtures). */
const byAnn = () => decodedJob(commentEvent("1", "hi"));

describe("the stages of docs/stages.md", () => {
  it("notMuted skips a muted author's comments and passes the rest", async () => {
    const [muted] = await run([notMuted(new Set(["ann"]))], [byAnn()]);
    const [kept] = await run([notMuted(new Set(["bob"]))], [byAnn()]);
    assert.equal(outcome(muted!), "skip:not-muted");
    assert.equal(outcome(kept!), "ok");
  });

  it("authorName puts the name in the context, and drops an event whose author does not exist", async () => {
    const profiles = (known: boolean) => ({
      name: async (id: string) => (known ? `${id.toUpperCase()}!` : undefined),
    });
    const [found] = await run([authorName(profiles(true))], [byAnn()]);
    const [unknown] = await run([authorName(profiles(false))], [byAnn()]);
    assert.deepEqual(found!.context, { authorName: "ANN!" });
    assert.equal(outcome(unknown!), "fail:author-name:REALER_ERR_EVENT_INVALID:drop");
  });

  it("authorNames looks names up once per batch", async () => {
    const queries: string[][] = [];
    const profiles = {
      names: async (ids: string[]) => {
        queries.push(ids);
        return new Map([["ann", "Ann"]]);
      },
    };
    const out = await run([authorNames(profiles)], [byAnn(), byAnn(), byAnn()]);
    assert.deepEqual(queries, [["ann"]]);
    assert.deepEqual(
      out.map((j) => j.context?.authorName),
      ["Ann", "Ann", "Ann"],
    );
  });

  it("summary renders after route, and a list that puts it before route is refused", async () => {
    const [out] = await run([route(new Renderer(handlers)), summary], [byAnn()]);
    assert.deepEqual(out!.outputs, [{ channel: "thread:1", type: "summary", data: '{"text":"hi"}' }]);
    assert.throws(() => compileStages([summary]), {
      code: "REALER_ERR_CONFIG_INVALID",
      message: /stage "summary" needs a routed job/,
    });
  });
});
