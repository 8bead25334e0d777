// tsc compiles only TypeScript: copy the generated protobuf module and the
// static web assets into the build output next to the code that loads them.
import { cpSync } from "node:fs";

const root = new URL("..", import.meta.url).pathname;
cpSync(`${root}src/gen`, `${root}dist/gen`, { recursive: true });
cpSync(`${root}src/web`, `${root}dist/web`, { recursive: true });
cpSync(`${root}src/admin/page`, `${root}dist/admin/page`, { recursive: true });
