import type { Logger } from "../log/logger.js";

/**
 * Runs `stop` once, on the first SIGTERM or SIGINT (or when `trigger` is
 * called), then exits 0 — or 1 when stopping fails. Returns `trigger`.
 */
export function onShutdown(
  log: Logger,
  stop: (reason: string) => Promise<void>,
): (reason: string) => Promise<void> {
  let stopping: Promise<void> | undefined;
  const trigger = (reason: string) => {
    stopping ??= (async () => {
      try {
        await stop(reason);
        log.info("stopped");
        process.exit(0);
      } catch (err) {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      }
    })();
    return stopping;
  };
  process.once("SIGTERM", () => void trigger("SIGTERM"));
  process.once("SIGINT", () => void trigger("SIGINT"));
  return trigger;
}
