/**
 * A channel message ready to write: encoded once, shared by every connection.
 * `frame` may be built on first use (hub.ts frames a message only when a
 * connection or a resume needs it); an empty frame is a message that could
 * not be framed and is written to nobody.
 */
export interface Entry {
  readonly seq: number;
  readonly channel: string;
  readonly frame: Buffer;
}
