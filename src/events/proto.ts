/**
 * The generated protobuf module (built from proto/ by `npm run gen`).
 * 64-bit fields decode as plain numbers: Long support is switched off once,
 * here, before any message is decoded (see STACK.md, gotcha 4).
 */
import protobuf from "protobufjs/minimal.js";

protobuf.util.Long = undefined as unknown as typeof protobuf.util.Long;
protobuf.configure();

export { comments, realer } from "../gen/protos.js";
