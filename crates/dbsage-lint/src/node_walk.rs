//! Visits every node of a parse tree, whatever its type, without copying it.
//!
//! pg_query's protobuf types derive `serde::Serialize`; this "serializer" writes nothing and only
//! follows the structure, so it reaches every node (a CTE, a subquery, a `BEGIN ATOMIC` body)
//! with no hand-written walk per node type. Each node is a newtype variant of the `Node` enum
//! (`FuncCall(…)`); only the kinds the caller asks for are turned into JSON for it to read,
//! which keeps the walk cheap (serialising every statement to JSON doubled lint time).

use serde::ser::{self, Serialize};
use serde_json::{Map, Value};

/// What [`walk`] calls for each node of interest: its kind, the fields asked for, in a rule.
pub(crate) type Visit<'a> = dyn FnMut(&str, &Map<String, Value>, bool) + 'a;

/// Calls `visit(kind, fields, in_rule)` for each node whose kind is in `kinds`, outermost
/// first, with the fields `kinds` names for it; `in_rule` is true inside `CREATE RULE`.
pub(crate) fn walk<T: Serialize + ?Sized>(tree: &T, kinds: &[(&str, &[&str])], visit: &mut Visit) {
    let mut walker = Walker {
        kinds,
        visit,
        in_rule: false,
    };
    let _ = tree.serialize(&mut walker);
}

struct Walker<'a> {
    kinds: &'a [(&'a str, &'a [&'a str])],
    visit: &'a mut Visit<'a>,
    in_rule: bool,
}

#[derive(Debug)]
pub(crate) struct Stop;

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("walk stopped")
    }
}

impl std::error::Error for Stop {}

impl ser::Error for Stop {
    fn custom<M: std::fmt::Display>(_: M) -> Self {
        Stop
    }
}

type Done = Result<(), Stop>;

impl<'w> ser::Serializer for &mut Walker<'w> {
    type Ok = ();
    type Error = Stop;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        enum_name: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Done {
        if enum_name == "Node" {
            if let Some((_, wanted)) = self.kinds.iter().find(|(kind, _)| *kind == variant) {
                if let Ok(fields) = value.serialize(FieldPicker { wanted }) {
                    (self.visit)(variant, &fields, self.in_rule);
                }
            }
        }
        let outer = self.in_rule;
        self.in_rule |= variant == "RuleStmt";
        let done = value.serialize(&mut *self);
        self.in_rule = outer;
        done
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Done {
        value.serialize(self)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Done {
        value.serialize(self)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self, Stop> {
        Ok(self)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self, Stop> {
        Ok(self)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self, Stop> {
        Ok(self)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, Stop> {
        Ok(self)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self, Stop> {
        Ok(self)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Stop> {
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, Stop> {
        Ok(self)
    }

    // Leaves: nothing below them.
    fn serialize_bool(self, _: bool) -> Done {
        Ok(())
    }
    fn serialize_i8(self, _: i8) -> Done {
        Ok(())
    }
    fn serialize_i16(self, _: i16) -> Done {
        Ok(())
    }
    fn serialize_i32(self, _: i32) -> Done {
        Ok(())
    }
    fn serialize_i64(self, _: i64) -> Done {
        Ok(())
    }
    fn serialize_u8(self, _: u8) -> Done {
        Ok(())
    }
    fn serialize_u16(self, _: u16) -> Done {
        Ok(())
    }
    fn serialize_u32(self, _: u32) -> Done {
        Ok(())
    }
    fn serialize_u64(self, _: u64) -> Done {
        Ok(())
    }
    fn serialize_f32(self, _: f32) -> Done {
        Ok(())
    }
    fn serialize_f64(self, _: f64) -> Done {
        Ok(())
    }
    fn serialize_char(self, _: char) -> Done {
        Ok(())
    }
    fn serialize_str(self, _: &str) -> Done {
        Ok(())
    }
    fn serialize_bytes(self, _: &[u8]) -> Done {
        Ok(())
    }
    fn serialize_none(self) -> Done {
        Ok(())
    }
    fn serialize_unit(self) -> Done {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Done {
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Done {
        Ok(())
    }
}

/// Every compound value just walks its parts.
macro_rules! walk_parts {
    ($($trait:ident { $($method:ident($($skip:ty),*);)* })*) => {$(
        impl<'w> ser::$trait for &mut Walker<'w> {
            type Ok = ();
            type Error = Stop;
            $(fn $method<T: Serialize + ?Sized>(&mut self, $(_: $skip,)* value: &T) -> Done {
                value.serialize(&mut **self)
            })*
            fn end(self) -> Done {
                Ok(())
            }
        }
    )*};
}

walk_parts! {
    SerializeSeq { serialize_element(); }
    SerializeTuple { serialize_element(); }
    SerializeTupleStruct { serialize_field(); }
    SerializeTupleVariant { serialize_field(); }
    SerializeMap { serialize_key(); serialize_value(); }
    SerializeStruct { serialize_field(&'static str); }
    SerializeStructVariant { serialize_field(&'static str); }
}

/// Serialises only the `wanted` fields of a node's struct into a JSON object: a node's
/// subtrees (an INSERT's VALUES, a subquery) are not copied when no check reads them.
struct FieldPicker<'a> {
    wanted: &'a [&'a str],
}

struct PickedFields<'a> {
    wanted: &'a [&'a str],
    fields: Map<String, Value>,
}

type Impossible = ser::Impossible<Map<String, Value>, Stop>;

macro_rules! not_a_struct {
    ($($method:ident($($arg:ty),*);)*) => {
        $(fn $method(self, $(_: $arg),*) -> Result<Map<String, Value>, Stop> {
            Err(Stop)
        })*
    };
}

impl<'a> ser::Serializer for FieldPicker<'a> {
    type Ok = Map<String, Value>;
    type Error = Stop;
    type SerializeSeq = Impossible;
    type SerializeTuple = Impossible;
    type SerializeTupleStruct = Impossible;
    type SerializeTupleVariant = Impossible;
    type SerializeMap = Impossible;
    type SerializeStruct = PickedFields<'a>;
    type SerializeStructVariant = Impossible;

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<PickedFields<'a>, Stop> {
        Ok(PickedFields {
            wanted: self.wanted,
            fields: Map::new(),
        })
    }

    not_a_struct! {
        serialize_bool(bool); serialize_i8(i8); serialize_i16(i16); serialize_i32(i32);
        serialize_i64(i64); serialize_u8(u8); serialize_u16(u16); serialize_u32(u32);
        serialize_u64(u64); serialize_f32(f32); serialize_f64(f64); serialize_char(char);
        serialize_str(&str); serialize_bytes(&[u8]); serialize_none(); serialize_unit();
        serialize_unit_struct(&'static str);
        serialize_unit_variant(&'static str, u32, &'static str);
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Self::Ok, Stop> {
        value.serialize(self)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Self::Ok, Stop> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Self::Ok, Stop> {
        Err(Stop)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Impossible, Stop> {
        Err(Stop)
    }
    fn serialize_tuple(self, _: usize) -> Result<Impossible, Stop> {
        Err(Stop)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Impossible, Stop> {
        Err(Stop)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Impossible, Stop> {
        Err(Stop)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Impossible, Stop> {
        Err(Stop)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Impossible, Stop> {
        Err(Stop)
    }
}

impl ser::SerializeStruct for PickedFields<'_> {
    type Ok = Map<String, Value>;
    type Error = Stop;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Done {
        if self.wanted.contains(&key) {
            let value = serde_json::to_value(value).map_err(|_| Stop)?;
            self.fields.insert(key.to_string(), value);
        }
        Ok(())
    }

    fn end(self) -> Result<Map<String, Value>, Stop> {
        Ok(self.fields)
    }
}
