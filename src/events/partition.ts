/**
 * Event partitions: an event is published to `<prefix>.p<N>.<type>`, where N
 * is a hash of its key modulo the number of partitions. Workers claim each
 * partition through a durable consumer of its own that hands out one event
 * at a time (the next only once the previous is settled), so the events of
 * one key reach the channel stream in the order they were stored, whichever
 * worker claims them, fails, or dies holding them.
 */

/** FNV-1a (32 bits) of `key`, modulo `partitions`. */
export function partitionOf(key: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % Math.max(1, partitions);
}

/** The subject an event of `type` with `key` is published to. */
export function eventSubject(prefix: string, partitions: number, type: string, key: string): string {
  return `${prefix}.p${partitionOf(key, partitions)}.${type}`;
}

/** Every event of partition `p`. */
export function partitionFilter(prefix: string, p: number): string {
  return `${prefix}.p${p}.>`;
}

/** Every event of `type`, in any partition. */
export function eventTypeFilter(prefix: string, type: string): string {
  return `${prefix}.*.${type}`;
}

/** The durable consumer name of partition `p`. */
export function partitionDurable(durable: string, p: number): string {
  return `${durable}-p${p}`;
}

/** The durable consumer names of every partition. */
export function partitionDurables(durable: string, partitions: number): string[] {
  return Array.from({ length: Math.max(1, partitions) }, (_, p) => partitionDurable(durable, p));
}
