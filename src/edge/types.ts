/** A channel message ready to write: encoded once, shared by every connection. */
export interface Entry {
  seq: number;
  channel: string;
  frame: Buffer;
}
