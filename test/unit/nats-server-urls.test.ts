import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseServers } from "../../src/broker/jetstream/server-urls.js";
import { codeOf } from "../../src/errors.js";

describe("NATS server URLs with credentials", () => {
  it("takes user and password out of the URLs and shows them without", () => {
    assert.deepEqual(
      parseServers(["nats://realer:p%40ss@nats-1:4222", " nats://realer:p%40ss@nats-2:4222"]),
      {
        servers: ["nats://nats-1:4222", "nats://nats-2:4222"],
        user: "realer",
        pass: "p@ss",
        shown: "nats://nats-1:4222,nats://nats-2:4222",
      },
    );
  });

  it("reads a user name alone as a token, and a URL without a scheme as nats://", () => {
    assert.deepEqual(parseServers("t0ken@127.0.0.1:4222"), {
      servers: ["nats://127.0.0.1:4222"],
      token: "t0ken",
      shown: "nats://127.0.0.1:4222",
    });
  });

  it("leaves URLs without credentials as they are", () => {
    assert.deepEqual(parseServers("nats://a:4222"), { servers: ["nats://a:4222"], shown: "nats://a:4222" });
  });

  it("refuses URLs that carry different credentials, without showing them", () => {
    assert.throws(
      () => parseServers(["nats://realer:pw-first@a:4222", "nats://realer:pw-second@b:4222"]),
      (err: Error) => {
        assert.equal(codeOf(err), "REALER_ERR_CONFIG_INVALID");
        assert.doesNotMatch(err.message, /pw-first|pw-second/);
        return true;
      },
    );
  });
});
