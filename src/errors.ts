/**
 * The one catalogue. Every error realer raises has a code here and a
 * line in docs/errors.md (a test checks both directions).
 *
 * Each error says how it is served, in separate fields:
 * - `httpStatus`: the status of the HTTP answer `{statusCode, code, message}`
 *   that carries it; undefined when it is never an HTTP answer (in-band on an
 *   open event stream, the command line, a worker's own failures).
 * - `exitCode`: the command line's exit status when a command ends on it.
 * - `disposition`, what a component does when it meets the error:
 *   - "client": the caller sent something wrong; answer 4xx (HTTP) or exit non-zero (CLI).
 *   - "retry":  a passing failure; the event is nak'ed with a backoff delay, an
 *     HTTP client gets a 5xx and tries again.
 *   - "drop":   the event can never succeed; it is terminated, counted and dead-lettered
 *     (refused with a 4xx when it comes over HTTP).
 *   - "fatal":  the process cannot go on; supervisors stop it. Never an HTTP answer.
 * test/unit/errors.test.ts holds the two consistent.
 */
import createError, { type FastifyErrorConstructor } from "@fastify/error";

export type Disposition = "client" | "retry" | "drop" | "fatal";

export interface RealerErrorConstructor extends FastifyErrorConstructor {
  readonly disposition: Disposition;
}

export interface ErrorSpec {
  message: string;
  /** The HTTP answer's status; undefined: never served over HTTP. */
  httpStatus: number | undefined;
  /** The command line's exit status. */
  exitCode: number;
  disposition: Disposition;
}

/** How an error is served: its HTTP status (none by default) and exit status (1 by default). */
interface Served {
  http?: number;
  exit?: number;
}

/** Every code, in one list, for docs and tests. */
export const catalogue = new Map<string, ErrorSpec>();

function define(
  code: string,
  message: string,
  disposition: Disposition,
  served: Served = {},
): RealerErrorConstructor {
  const httpStatus = served.http;
  catalogue.set(code, { message, httpStatus, exitCode: served.exit ?? 1, disposition });
  // An error that is no HTTP answer and yet reaches an HTTP handler is a bug: a 500.
  const ctor = createError(code, message, httpStatus ?? 500) as RealerErrorConstructor;
  Object.defineProperty(ctor, "disposition", { value: disposition });
  return ctor;
}

// Subscribing (edge)
export const ChannelInvalid = define(
  "REALER_ERR_CHANNEL_INVALID",
  "channel name %s is invalid: use 1-128 characters of [A-Za-z0-9_-], with ':' between segments",
  "client",
  { http: 400 },
);
export const NoChannels = define(
  "REALER_ERR_NO_CHANNELS",
  "at least one channel parameter is required",
  "client",
  { http: 400 },
);
export const TooManyChannels = define(
  "REALER_ERR_TOO_MANY_CHANNELS",
  "%s channels requested; at most %s are allowed per connection",
  "client",
  { http: 400 },
);
export const LastEventIdInvalid = define(
  "REALER_ERR_LAST_EVENT_ID_INVALID",
  "Last-Event-ID %s is invalid: expected an id this edge sent (<epoch>-<sequence>) or a bare sequence",
  "client",
  { http: 400 },
);
export const NotEventStream = define(
  "REALER_ERR_NOT_EVENT_STREAM",
  "this endpoint serves text/event-stream: send Accept: text/event-stream",
  "client",
  { http: 406 },
);
export const TooManyConnections = define(
  "REALER_ERR_TOO_MANY_CONNECTIONS",
  "address %s already holds %s connections, the most one address may hold on this edge",
  "client",
  { http: 429 },
);
export const AuthRequired = define(
  "REALER_ERR_AUTH_REQUIRED",
  "channel %s is private: send a subscribe token (token=... or Authorization: Bearer ...)",
  "client",
  { http: 401 },
);
export const TokenInvalid = define(
  "REALER_ERR_TOKEN_INVALID",
  "the subscribe token is invalid: %s",
  "client",
  { http: 401 },
);
export const TokenExpired = define(
  "REALER_ERR_TOKEN_EXPIRED",
  "the subscribe token has expired: reconnect with a fresh token",
  "client",
  { http: 401 },
);
export const ChannelForbidden = define(
  "REALER_ERR_CHANNEL_FORBIDDEN",
  "channel %s is not allowed: %s",
  "client",
  { http: 403 },
);
export const OriginForbidden = define(
  "REALER_ERR_ORIGIN_FORBIDDEN",
  "origin %s is not allowed here",
  "client",
  { http: 403 },
);
export const EdgeDraining = define(
  "REALER_ERR_EDGE_DRAINING",
  "this edge is shutting down: reconnect (to another edge) shortly",
  "retry",
  { http: 503 },
);
export const ClientTooSlow = define(
  "REALER_ERR_CLIENT_TOO_SLOW",
  "the client read too slowly and was disconnected: reconnect to resume",
  "client",
);
export const ResumeFailed = define(
  "REALER_ERR_RESUME_FAILED",
  "the channel history could not be read: reconnect to retry the resume",
  "retry",
);
export const NotFound = define("REALER_ERR_NOT_FOUND", "no route for %s %s", "client", { http: 404 });
export const BadRequest = define("REALER_ERR_BAD_REQUEST", "bad request: %s", "client", { http: 400 });
export const PayloadTooLarge = define(
  "REALER_ERR_PAYLOAD_TOO_LARGE",
  "request body is larger than %s bytes",
  "client",
  { http: 413 },
);
export const UnsupportedMediaType = define(
  "REALER_ERR_UNSUPPORTED_MEDIA_TYPE",
  "content type %s is not supported here",
  "client",
  { http: 415 },
);
export const Internal = define("REALER_ERR_INTERNAL", "internal error", "retry", { http: 500 });

// Events (worker pipeline)
export const EventDecode = define("REALER_ERR_EVENT_DECODE", "event could not be decoded: %s", "drop", {
  http: 422,
});
export const EventUnknownType = define(
  "REALER_ERR_EVENT_UNKNOWN_TYPE",
  "event type %s is not registered",
  "drop",
  { http: 422 },
);
export const EventInvalid = define("REALER_ERR_EVENT_INVALID", "event is invalid: %s", "drop", { http: 422 });
export const PublishFailed = define(
  "REALER_ERR_PUBLISH_FAILED",
  "publishing to the channel stream failed: %s",
  "retry",
);
export const EnrichTimeout = define(
  "REALER_ERR_ENRICH_TIMEOUT",
  "stage %s did not finish within %s ms",
  "retry",
);
export const MaxDeliveries = define(
  "REALER_ERR_MAX_DELIVERIES",
  "event was delivered %s times without being settled (a worker died or hung on its last attempt)",
  "drop",
);
export const StageLostJob = define(
  "REALER_ERR_STAGE_LOST_JOB",
  "stage pipeline for %s emitted no job: a stage must emit every job it receives (use filter() to skip one)",
  "drop",
);
export const StageFatal = define("REALER_ERR_STAGE_FATAL", "stage %s cannot go on: %s", "fatal");

// Producing (SDK and HTTP ingest)
export const IngestUnauthorized = define(
  "REALER_ERR_INGEST_UNAUTHORIZED",
  "missing or unknown API key: send Authorization: Bearer <key> with one of REALER_INGEST_KEYS",
  "client",
  { http: 401 },
);
export const HeaderInvalid = define("REALER_ERR_HEADER_INVALID", "header %s is refused: %s", "client", {
  http: 400,
});
export const PublishTimeout = define(
  "REALER_ERR_PUBLISH_TIMEOUT",
  "event %s was not stored within %s ms (%s); publishing it again with the same id is safe",
  "retry",
  { http: 503 },
);
export const ProducerOverloaded = define(
  "REALER_ERR_PRODUCER_OVERLOADED",
  "%s events are already waiting to be published; slow down or raise maxPending",
  "retry",
  { http: 503 },
);
export const ProducerClosed = define("REALER_ERR_PRODUCER_CLOSED", "the producer is closed", "retry", {
  http: 503,
});

// Infrastructure
export const WorkerNotRunning = define(
  "REALER_ERR_WORKER_NOT_RUNNING",
  "the worker is %s: it claims no events",
  "retry",
  { http: 503 },
);
export const BrokerUnavailable = define("REALER_ERR_BROKER_UNAVAILABLE", "broker unavailable: %s", "retry", {
  http: 503,
});
export const StreamNotFound = define("REALER_ERR_STREAM_NOT_FOUND", "stream %s does not exist", "client", {
  http: 404,
});
export const ConfigInvalid = define("REALER_ERR_CONFIG_INVALID", "configuration is invalid: %s", "fatal");
export const DuplicateWindowShort = define(
  "REALER_ERR_DUPLICATE_WINDOW_SHORT",
  "the channel stream's duplicate window (%s ms) is shorter than a worker's redelivery span (%s ms: ack wait x max deliveries + retry delays): a redelivery after it would store an event's channel messages again; raise REALER_CHANNELS_DUPLICATE_WINDOW_MS or lower REALER_WORKER_ACK_WAIT_MS or REALER_WORKER_MAX_DELIVER",
  "fatal",
);
export const CliUsage = define("REALER_ERR_CLI_USAGE", "%s", "client", { exit: 2 });
export const ConsumerNotFound = define(
  "REALER_ERR_CONSUMER_NOT_FOUND",
  "consumer %s of stream %s does not exist",
  "client",
  { http: 404 },
);

// Load tests (realer bench)
export const BenchOptionInvalid = define("REALER_ERR_BENCH_OPTION_INVALID", "%s", "client", { exit: 2 });
export const BenchRemoteTarget = define(
  "REALER_ERR_BENCH_REMOTE_TARGET",
  "%s resolves to %s, which is not a loopback address: pass --allow-remote (allowRemote) to load a server on another machine",
  "client",
  { exit: 2 },
);
export const BenchNoSubscribers = define(
  "REALER_ERR_BENCH_NO_SUBSCRIBERS",
  "no subscriber could open a stream at %s: %s",
  "fatal",
);
export const BenchPublishRefused = define(
  "REALER_ERR_BENCH_PUBLISH_REFUSED",
  "the target refused every publish: HTTP %s %s",
  "fatal",
);

// Operators (replay, dlq, audit, admin)
export const ReplayRangeInvalid = define("REALER_ERR_REPLAY_RANGE", "replay range is invalid: %s", "client", {
  http: 400,
});
export const ReplayNotFound = define(
  "REALER_ERR_REPLAY_NOT_FOUND",
  "no replay %s: nothing to resume",
  "client",
  { http: 404 },
);
export const DeadLetterNotFound = define(
  "REALER_ERR_DLQ_NOT_FOUND",
  "no dead letter at sequence %s",
  "client",
  { http: 404 },
);
export const AdminUnauthorized = define(
  "REALER_ERR_ADMIN_UNAUTHORIZED",
  "admin token missing or wrong: send Authorization: Bearer <REALER_ADMIN_TOKEN>",
  "client",
  { http: 401 },
);
export const AdminDisabled = define(
  "REALER_ERR_ADMIN_DISABLED",
  "the admin API is disabled: set REALER_ADMIN_TOKEN",
  "client",
  { http: 403 },
);
export const MetricsUnavailable = define(
  "REALER_ERR_METRICS_UNAVAILABLE",
  "could not read metrics from %s: %s",
  "retry",
  { http: 503 },
);

/** The code of any error, or undefined when it is not one of ours. */
export function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && catalogue.has(code) ? code : undefined;
}

/** The HTTP status an error is answered with: its catalogue status; 500 for others and for those never served over HTTP. */
export function httpStatusOf(err: unknown): number {
  const code = codeOf(err);
  return (code && catalogue.get(code)!.httpStatus) || 500;
}

/** The exit status of a command that ends on `err`: its catalogue exit code, 1 for others. */
export function exitCodeOf(err: unknown): number {
  const code = codeOf(err);
  return code ? catalogue.get(code)!.exitCode : 1;
}

/** What to do with an error met while processing an event; unknown errors are retried. */
export function dispositionOf(err: unknown): Disposition {
  const code = codeOf(err);
  return code ? catalogue.get(code)!.disposition : "retry";
}
