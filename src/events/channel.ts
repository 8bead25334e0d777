/**
 * Channel names: segments of [A-Za-z0-9_-] joined by ':', at most 128
 * characters, e.g. "thread:42" or "user:ann". The grammar keeps names safe
 * as a single NATS subject token (no '.', '*', '>' or whitespace).
 */
const CHANNEL_RE = /^[A-Za-z0-9_-]+(?::[A-Za-z0-9_-]+)*$/;
export const MAX_CHANNEL_LENGTH = 128;

export function isValidChannel(name: string): boolean {
  return name.length > 0 && name.length <= MAX_CHANNEL_LENGTH && CHANNEL_RE.test(name);
}

/** The channel-stream subject of a channel. */
export function channelSubject(prefix: string, channel: string): string {
  return `${prefix}.${channel}`;
}

/** The channel of a channel-stream subject. */
export function channelOfSubject(prefix: string, subject: string): string {
  return subject.slice(prefix.length + 1);
}
