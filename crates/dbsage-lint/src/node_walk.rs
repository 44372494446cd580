//! Visits every node of a parse tree, whatever its type, without copying it.
//!
//! The walk over pg_query's typed protobuf structs is generated (`generated.rs`, from the
//! crate's `protobuf.rs` by `tools/node_walk_gen.py`): one function per struct that can hold
//! nodes, so it reaches every node (a CTE, a subquery, a `BEGIN ATOMIC` body) in the order
//! the fields are declared. Only `Node`-wrapped nodes are shown to the visitor; a struct held
//! directly by its parent (an `InsertStmt`'s `relation`) is walked through, and relation names
//! and aliases held that way are reported through their own hooks.

mod generated;

use dbsage_sql::pg_query::protobuf::{Alias, Node, RangeVar};
use dbsage_sql::NodeEnum;

pub(crate) use generated::location;

/// What a walk calls for the nodes it meets, outermost first.
pub(crate) trait Visitor {
    /// A node; returning false skips its subtree (and its `leave`).
    fn enter(&mut self, node: &NodeEnum) -> bool;
    /// After the node's subtree.
    fn leave(&mut self, _node: &NodeEnum) {}
    /// A relation held directly in a field (not wrapped in a `Node`).
    fn range_var(&mut self, _relation: &RangeVar) {}
    /// An alias held directly in a field.
    fn alias(&mut self, _alias: &Alias) {}
}

/// Walks `node` and everything below it.
pub(crate) fn walk<V: Visitor + ?Sized>(node: &NodeEnum, visitor: &mut V) {
    generated::node_enum(node, visitor);
}

/// Walks each of `nodes` and everything below them.
pub(crate) fn walk_all<V: Visitor + ?Sized>(nodes: &[Node], visitor: &mut V) {
    for node in nodes {
        generated::node(node, visitor);
    }
}

/// The smallest known location of a node in the tree (where its text starts, or near it).
pub(crate) fn first_location(node: &NodeEnum) -> Option<i32> {
    struct First(Option<i32>);
    impl Visitor for First {
        fn enter(&mut self, node: &NodeEnum) -> bool {
            if let Some(l) = location(node).filter(|&l| l >= 0) {
                self.0 = Some(self.0.map_or(l, |f| f.min(l)));
            }
            true
        }
    }
    let mut first = First(None);
    walk(node, &mut first);
    first.0
}
