import { MemoryBroker } from "../../src/broker/memory-broker.js";
import { brokerContract } from "./broker.contract.js";

brokerContract("memory", async () => {
  const broker = new MemoryBroker();
  return { broker, close: () => broker.close() };
});
