import { randomUUID } from 'node:crypto';

export const defaultMaxItemBytes = 64 * 1024;

/** A stored item: its id (assigned by the store) and its JSON text, id first. */
export interface StoredItem {
  id: string;
  json: string;
}

export interface ItemStoreCounts {
  held: number;
  bytes: number;
  created: number;
  updated: number;
  deleted: number;
  evicted: number;
}

export type PutResult = { ok: true; item: StoredItem } | { ok: false; reason: 'not found' | 'too large' };

export interface ItemStore {
  create(fields: Record<string, unknown>): PutResult;
  get(id: string): StoredItem | undefined;
  /** Replaces the fields of an existing item. */
  update(id: string, fields: Record<string, unknown>): PutResult;
  remove(id: string): boolean;
  /** A page of items, oldest written first. */
  list(offset: number, limit: number): StoredItem[];
  counts(): ItemStoreCounts;
}

export interface ItemStoreOptions {
  maxItems?: number;
  /** Bytes of one item's JSON at most. */
  maxItemBytes?: number;
  /** Bytes of JSON held at most, all items together. */
  maxBytes?: number;
}

/**
 * Items by assigned id, bounded in count and bytes. When full, the item written longest ago is
 * dropped (counted as evicted): a night run of flows that fail before their DELETE must not
 * grow the server without end, and the items it abandoned are the oldest ones.
 */
export function createItemStore(opts: ItemStoreOptions = {}): ItemStore {
  const maxItems = opts.maxItems ?? 100_000;
  const maxItemBytes = opts.maxItemBytes ?? defaultMaxItemBytes;
  const maxBytes = Math.max(opts.maxBytes ?? 64 * 1024 * 1024, maxItemBytes);
  const items = new Map<string, string>();
  const n = { bytes: 0, created: 0, updated: 0, deleted: 0, evicted: 0 };

  function drop(id: string): void {
    n.bytes -= Buffer.byteLength(items.get(id)!);
    items.delete(id);
  }

  function put(id: string, fields: Record<string, unknown>): PutResult {
    // The id comes first and wins over an `id` field in the body.
    const { id: _ignored, ...rest } = fields;
    const json = JSON.stringify({ id, ...rest });
    const size = Buffer.byteLength(json);
    if (size > maxItemBytes) return { ok: false, reason: 'too large' };
    if (items.has(id)) drop(id);
    while (items.size > 0 && (items.size >= maxItems || n.bytes + size > maxBytes)) {
      drop(items.keys().next().value!);
      n.evicted++;
    }
    items.set(id, json);
    n.bytes += size;
    return { ok: true, item: { id, json } };
  }

  return {
    create(fields) {
      const result = put(randomUUID(), fields);
      if (result.ok) n.created++;
      return result;
    },
    get(id) {
      const json = items.get(id);
      return json === undefined ? undefined : { id, json };
    },
    update(id, fields) {
      if (!items.has(id)) return { ok: false, reason: 'not found' };
      const result = put(id, fields);
      if (result.ok) n.updated++;
      return result;
    },
    remove(id) {
      if (!items.has(id)) return false;
      drop(id);
      n.deleted++;
      return true;
    },
    list(offset, limit) {
      const page: StoredItem[] = [];
      let index = 0;
      for (const [id, json] of items) {
        if (page.length >= limit) break;
        if (index++ >= offset) page.push({ id, json });
      }
      return page;
    },
    counts: () => ({ held: items.size, ...n }),
  };
}
