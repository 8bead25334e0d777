/** The edge's metrics, registered once per process in the shared registry. */
import { counter, gauge, histogram } from "../metrics/registry.js";

export const edgeMetrics = {
  connections: gauge("realer_edge_connections", "Open SSE connections"),
  opened: counter("realer_edge_connections_opened_total", "SSE connections accepted"),
  frames: counter(
    "realer_edge_frames_written_total",
    "SSE frames written to sockets (one per frame per connection)",
  ),
  bytes: counter("realer_edge_bytes_written_total", "Bytes written to SSE sockets"),
  drops: counter("realer_edge_drops_total", "Connections the edge closed, by reason", ["reason"]),
  refusals: counter("realer_edge_refusals_total", "SSE and occupancy requests refused, by error code", [
    "code",
  ]),
  resumes: counter(
    "realer_edge_resumes_total",
    "Subscribes by how they started: live, ring, stream or reset",
    ["outcome"],
  ),
  tailRepaired: counter(
    "realer_edge_tail_repaired_messages_total",
    "Channel messages missed live and read back from the stream, by how it was noticed: gap, end (verification) or loss; late: one that reached the edge after later ones; gone: a run of messages the stream no longer had",
    ["reason"],
  ),
  subscriptions: gauge(
    "realer_edge_channel_subscriptions",
    "Broker subscriptions for channel messages: one per channel with local subscribers (or lately had)",
  ),
  historyReads: counter(
    "realer_edge_history_reads_total",
    "Channel-stream reads for resumes (one per channel and range, shared)",
  ),
  writeLatency: histogram(
    "realer_edge_write_latency_seconds",
    "Time from a frame being queued to its write to the socket, per write round",
    [],
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
  ),
};
