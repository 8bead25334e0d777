/**
 * Private channels: subscribe tokens (HMAC and public-key JWTs), every
 * refusal a 401/403 with a code, and a token's expiry on an open stream:
 * `event: auth-expiring`, then `event: error` and the end, never data after.
 * On both brokers.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { exportSPKI, generateKeyPair, SignJWT } from "jose";
import type { Broker } from "../../src/broker/types.js";
import { forEachBroker } from "../helpers/brokers.js";
import { sseConnect } from "../helpers/sse-client.js";
import { waitFor } from "../helpers/wait.js";
import { type EdgeUnderTest, open, publishTo, startTestEdge, texts } from "./edge-fixture.js";

const SECRET = "edge-auth-test-secret-0123456789abcdef";
const hmac = new TextEncoder().encode(SECRET);
const nowS = () => Math.floor(Date.now() / 1000);
type SigningKey = Parameters<SignJWT["sign"]>[0];

function token(
  claims: Record<string, unknown>,
  expS: number | undefined,
  key: SigningKey = hmac,
  alg = "HS256",
) {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg }).setIssuedAt();
  if (expS !== undefined) jwt.setExpirationTime(expS);
  return jwt.sign(key);
}

async function refusal(url: string, headers: Record<string, string> = {}) {
  const r = await open(url, { headers });
  return { status: r.status, code: r.body ? (JSON.parse(r.body) as { code: string }).code : undefined };
}

forEachBroker((_kind, sb) => {
  describe("subscribe tokens (HMAC)", () => {
    let e: EdgeUnderTest;
    let broker: Broker;
    before(async () => {
      broker = sb.broker;
      e = await startTestEdge(broker, (c) => {
        c.edge.auth.hmacSecret = SECRET;
        c.edge.auth.privateChannels = ["private:>", "team:*:secret"];
        c.edge.auth.expiringNoticeMs = 3_000;
      });
    });
    after(async () => {
      await e?.close();
    });
    const sse = (q: string) => `${e.base}/v1/sse?${q}`;

    it("serves public channels without a token", async () => {
      const r = await open(sse("channel=thread:1"));
      assert.equal(r.status, 200);
      r.close();
    });

    it("refuses a private channel without a token: 401 REALER_ERR_AUTH_REQUIRED", async () => {
      assert.deepEqual(await refusal(sse("channel=thread:1&channel=private:ann")), {
        status: 401,
        code: "REALER_ERR_AUTH_REQUIRED",
      });
      assert.deepEqual(await refusal(sse("channel=team:red:secret")), {
        status: 401,
        code: "REALER_ERR_AUTH_REQUIRED",
      });
    });

    it("refuses a malformed token, a foreign signature and a token without exp: 401 REALER_ERR_TOKEN_INVALID", async () => {
      const foreign = await token(
        { channels: ["private:ann"] },
        nowS() + 60,
        new TextEncoder().encode("another-secret-another-secret-00"),
      );
      const noExp = await token({ channels: ["private:ann"] }, undefined);
      for (const t of ["garbage", "a.b.c", foreign, noExp]) {
        assert.deepEqual(
          await refusal(sse(`channel=private:ann&token=${t}`)),
          { status: 401, code: "REALER_ERR_TOKEN_INVALID" },
          t,
        );
      }
    });

    it("refuses an expired token: 401 REALER_ERR_TOKEN_EXPIRED", async () => {
      const t = await token({ channels: ["private:ann"] }, nowS() - 5);
      assert.deepEqual(await refusal(sse(`channel=private:ann&token=${t}`)), {
        status: 401,
        code: "REALER_ERR_TOKEN_EXPIRED",
      });
    });

    it("refuses a channel the token does not allow: 403 REALER_ERR_CHANNEL_FORBIDDEN", async () => {
      const t = await token({ channels: ["private:ann", "private:team:*"] }, nowS() + 60);
      assert.deepEqual(await refusal(sse(`channel=private:bob&token=${t}`)), {
        status: 403,
        code: "REALER_ERR_CHANNEL_FORBIDDEN",
      });
      assert.deepEqual(await refusal(sse(`channel=private:team:x:y&token=${t}`)), {
        status: 403,
        code: "REALER_ERR_CHANNEL_FORBIDDEN",
      });
      const ok = await open(sse(`channel=private:team:x&channel=private:ann&channel=thread:9&token=${t}`));
      assert.equal(ok.status, 200);
      ok.close();
    });

    it("accepts the token as Authorization: Bearer and delivers the private channel", async () => {
      const t = await token({ channels: ["private:>"] }, nowS() + 60);
      const c = await sseConnect(sse("channel=private:carol"), { authorization: `Bearer ${t}` });
      try {
        assert.equal(c.status, 200);
        await publishTo(broker, e.cfg, "private:carol", "hello carol");
        assert.deepEqual(texts(await c.waitForMessages(1)), ["hello carol"]);
      } finally {
        c.close();
      }
    });

    it("counts a private channel's subscribers only for a token that allows it", async () => {
      assert.deepEqual(await refusal(`${e.base}/v1/channels/private:ann`), {
        status: 401,
        code: "REALER_ERR_AUTH_REQUIRED",
      });
      const t = await token({ channels: ["private:ann"] }, nowS() + 60);
      const r = await fetch(`${e.base}/v1/channels/private:ann`, {
        headers: { authorization: `Bearer ${t}` },
      });
      assert.equal(r.status, 200);
      assert.deepEqual(await r.json(), { channel: "private:ann", subscribers: 0 });
    });

    it("warns with auth-expiring before the token expires, then ends the stream with an error and sends nothing after", async () => {
      const exp = nowS() + 6;
      const t = await token({ channels: ["private:dave"] }, exp);
      const c = await sseConnect(sse(`channel=private:dave&token=${t}`));
      await publishTo(broker, e.cfg, "private:dave", "while valid");
      await c.waitForMessages(1);
      const notice = await c.waitForEvent("auth-expiring", 10_000);
      const n = JSON.parse(notice.data);
      assert.equal(n.expires_at, new Date(exp * 1000).toISOString());
      assert.deepEqual(n.channels, ["private:dave"]);
      assert.ok(Date.now() < exp * 1000, "the notice comes before the expiry");
      const err = await c.waitForEvent("error", 10_000);
      assert.ok(Date.now() >= exp * 1000 - 50, "the error comes at the expiry");
      assert.equal(JSON.parse(err.data).code, "REALER_ERR_TOKEN_EXPIRED");
      assert.equal(JSON.parse(err.data).reason, "token-expired");
      await c.ended;
      await publishTo(broker, e.cfg, "private:dave", "after expiry");
      await waitFor(() => e.hub.subscribers("private:dave") === 0, {
        what: "the edge to drop the connection",
      });
      assert.deepEqual(texts(c.messages()), ["while valid"]);
      assert.equal(c.frames.at(-1)!.event, "error", "nothing after the error");
    });
  });

  describe("subscribe tokens (public key)", () => {
    let e: EdgeUnderTest;
    let priv: SigningKey;
    before(async () => {
      const pair = await generateKeyPair("ES256", { extractable: true });
      priv = pair.privateKey;
      const pem = await exportSPKI(pair.publicKey);
      e = await startTestEdge(sb.broker, (c) => {
        c.edge.auth.publicKey = pem;
        c.edge.auth.issuer = "realer-tests";
      });
    });
    after(async () => {
      await e?.close();
    });

    it("accepts an ES256 token from the configured key and issuer", async () => {
      const t = await new SignJWT({ channels: ["private:eve"] })
        .setProtectedHeader({ alg: "ES256" })
        .setIssuer("realer-tests")
        .setExpirationTime(nowS() + 60)
        .sign(priv);
      const r = await open(`${e.base}/v1/sse?channel=private:eve&token=${t}`);
      assert.equal(r.status, 200);
      r.close();
    });

    it("refuses an HMAC token when only a public key is configured, and a wrong issuer", async () => {
      const hs = await token({ channels: ["private:eve"] }, nowS() + 60);
      assert.deepEqual(await refusal(`${e.base}/v1/sse?channel=private:eve&token=${hs}`), {
        status: 401,
        code: "REALER_ERR_TOKEN_INVALID",
      });
      const wrongIss = await new SignJWT({ channels: ["private:eve"] })
        .setProtectedHeader({ alg: "ES256" })
        .setIssuer("someone-else")
        .setExpirationTime(nowS() + 60)
        .sign(priv);
      assert.deepEqual(await refusal(`${e.base}/v1/sse?channel=private:eve&token=${wrongIss}`), {
        status: 401,
        code: "REALER_ERR_TOKEN_INVALID",
      });
    });
  });

  describe("private channels without a configured key", () => {
    it("refuses them with 403 REALER_ERR_CHANNEL_FORBIDDEN, never serving them as public", async () => {
      const e = await startTestEdge(sb.broker);
      try {
        const t = await token({ channels: ["private:>"] }, nowS() + 60);
        assert.deepEqual(await refusal(`${e.base}/v1/sse?channel=private:x&token=${t}`), {
          status: 403,
          code: "REALER_ERR_CHANNEL_FORBIDDEN",
        });
      } finally {
        await e.close();
      }
    });
  });
});
