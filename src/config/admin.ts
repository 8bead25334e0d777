/** The admin API's and the metrics listener's settings. */
import type { EnvReader } from "./env.js";

export interface AdminConfig {
  /** Bearer token for the admin API and page (REALER_ADMIN_TOKEN); undefined turns them off. */
  token: string | undefined;
  /** /metrics URLs of other processes the admin page and audit read (REALER_METRICS_URLS, comma separated). */
  metricsUrls: string[];
  /** Port of the worker's /metrics listener (REALER_METRICS_PORT); undefined: none. */
  metricsPort: number | undefined;
}

export function defaultAdminConfig(): AdminConfig {
  return { token: undefined, metricsUrls: [], metricsPort: undefined };
}

export function adminFromEnv(env: EnvReader, base: AdminConfig): AdminConfig {
  return {
    token: env.string("REALER_ADMIN_TOKEN", base.token),
    metricsUrls: env.list("REALER_METRICS_URLS", base.metricsUrls),
    metricsPort: env.int("REALER_METRICS_PORT", base.metricsPort),
  };
}
