import { JetStreamBroker } from "../../src/broker/jetstream-broker.js";
import { startNatsServer } from "../helpers/nats-server.js";
import { brokerContract } from "./broker.contract.js";

brokerContract("jetstream", async () => {
  const server = await startNatsServer();
  const broker = await JetStreamBroker.connect({ servers: server.url });
  return {
    broker,
    async close() {
      await broker.close();
      await server.stop();
    },
  };
});
