export const maxItemId = 10_000;

const tagPool = ['red', 'green', 'blue', 'sale', 'new', 'eco', 'bulk', 'gift'];

export interface Item {
  id: number;
  name: string;
  price: number;
  tags: string[];
}

/** Valid ids are whole numbers 0..10000 written in digits; anything else is not found. */
export function parseItemId(text: string): number | null {
  if (!/^\d{1,6}$/.test(text)) return null;
  const id = Number(text);
  return id <= maxItemId ? id : null;
}

/** The same id always gives the same item, so suites can assert exact values. */
export function itemFor(id: number): Item {
  const price = ((id * 7919) % 10_000) / 100 + 1;
  const tags = [tagPool[id % tagPool.length]!, tagPool[(id * 3 + 1) % tagPool.length]!];
  return { id, name: `item-${id}`, price: Math.round(price * 100) / 100, tags: [...new Set(tags)] };
}
