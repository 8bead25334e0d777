import { startJetStream } from "../helpers/nats-server.js";
import { brokerContract } from "./broker.contract.js";

brokerContract("jetstream", startJetStream);
