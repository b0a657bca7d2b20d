import type { Node } from './node.ts';

/** The node behind a Stream or ClusterStream. Internal: not exported from sluice/stream. */
export const kNode = Symbol('sluice.stream.node');

let adopted: Node | undefined;

/**
 * Make a façade (Stream, ClusterStream...) around an existing node. The
 * public constructors make a fresh source node; operators need to wrap the
 * node they just made, without widening the constructors' signatures.
 */
export function adopting<S>(node: Node, make: () => S): S {
  adopted = node;
  try {
    return make();
  } finally {
    adopted = undefined;
  }
}

/** Called by a façade's constructor: the node being wrapped, if any. */
export function takeAdopted(): Node | undefined {
  const node = adopted;
  adopted = undefined;
  return node;
}
