//! JSON request bodies read into their types.
//!
//! One serde type per body is read here, documented in the OpenAPI document from the same type, and then
//! converted with `TryFrom` into the domain's types. [`from_json`] reads a body (already checked for size,
//! encoding and U+0000 by [`crate::http::json_body`]) and answers a 400 problem naming the member at fault by its
//! path: `lines[3].quantity` for a wrong type or value, the member itself for one that is not part of the request
//! (every request type denies unknown members), and the missing member for one that is required.
//!
//! serde's derived structs also read a JSON array as a struct (its elements taken as the members in order), which
//! an API that documents objects must refuse: [`Strict`] reads a struct from a JSON object only. [`from_json`]
//! applies it to the body itself; a request type applies it to each struct it nests
//! (`Vec<Strict<CartLineRequest>>`).

use crate::problem::Problem;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::Deserialize;
use serde_json::Value;
use std::fmt;

/// Reads the request body `body` as `T`: a 400 naming the member at fault when it is not one.
pub fn from_json<T: DeserializeOwned>(body: &Value) -> Result<T, Problem> {
    serde_path_to_error::deserialize::<_, Strict<T>>(body)
        .map(|Strict(t)| t)
        .map_err(|e| {
            let (field, message) = member(e.path(), &e.inner().to_string());
            Problem::invalid_body(&field, message)
        })
}

/// The member an error is about, as it was sent, and what is wrong with it. A missing member is reported by serde
/// at the object that lacks it, so its name is taken from the message; an error about the body as a whole names
/// `body`.
fn member(path: &serde_path_to_error::Path, message: &str) -> (String, String) {
    // `lines[3].quantity`, and `.` for the body itself.
    let path = path.to_string();
    let parent = if path == "." { "" } else { path.as_str() };
    if let Some((missing, _)) = message.strip_prefix("missing field ").and_then(quoted) {
        let field = if parent.is_empty() {
            missing.to_string()
        } else {
            format!("{parent}.{missing}")
        };
        return (field, "is required".to_string());
    }
    let message = match message.strip_prefix("unknown field ").and_then(quoted) {
        // `, expected one of `a`, `b`` becomes `; expected one of `a`, `b``.
        Some((_, expected)) => format!("is not a member here{}", expected.replacen(',', ";", 1)),
        None => message.to_string(),
    };
    let field = if parent.is_empty() { "body" } else { parent };
    (field.to_string(), message)
}

/// `` `name`, rest `` → `(name, rest)`.
fn quoted(text: &str) -> Option<(&str, &str)> {
    text.strip_prefix('`')?.split_once('`')
}

/// `T`, read only from a JSON object when it is a struct (serde's derived structs would also read an array).
/// Its schema is `T`'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Strict<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Strict<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(ObjectsOnly(d)).map(Strict)
    }
}

impl<T: schemars::JsonSchema> schemars::JsonSchema for Strict<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        T::schema_id()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

/// A deserializer that reads a struct as a map, and so from a JSON object only; everything else as `D` does.
struct ObjectsOnly<D>(D);

/// Passes each listed method through to the wrapped deserializer.
macro_rules! pass_through {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
                self.0.$method($($arg,)* visitor)
            }
        )*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for ObjectsOnly<D> {
    type Error = D::Error;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(AnObject(visitor))
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }

    pass_through! {
        deserialize_any();
        deserialize_bool();
        deserialize_i8();
        deserialize_i16();
        deserialize_i32();
        deserialize_i64();
        deserialize_i128();
        deserialize_u8();
        deserialize_u16();
        deserialize_u32();
        deserialize_u64();
        deserialize_u128();
        deserialize_f32();
        deserialize_f64();
        deserialize_char();
        deserialize_str();
        deserialize_string();
        deserialize_bytes();
        deserialize_byte_buf();
        deserialize_option();
        deserialize_unit();
        deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str);
        deserialize_seq();
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_map();
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_identifier();
        deserialize_ignored_any();
    }
}

/// A struct's visitor that takes a map and nothing else, and says so when it gets something else.
struct AnObject<V>(V);

impl<'de, V: Visitor<'de>> Visitor<'de> for AnObject<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.0.visit_map(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Order {
        lines: Vec<Strict<Line>>,
        note: Option<String>,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Line {
        sku: String,
        quantity: u32,
    }

    /// The field and message of the problem reading `v` gives.
    fn refusal(v: Value) -> (String, String) {
        let p = from_json::<Order>(&v).unwrap_err();
        assert_eq!(p.status, 400, "{v}");
        assert_eq!(p.kind, "invalid-body", "{v}");
        let e = p.errors.into_iter().next().expect("a field error");
        (e.field, e.message)
    }

    #[test]
    fn a_well_formed_body_reads() {
        let o: Order = from_json(&json!({"lines": [{"sku": "SHM-00001", "quantity": 2}]})).unwrap();
        assert_eq!(
            o.lines[0].0,
            Line {
                sku: "SHM-00001".into(),
                quantity: 2
            }
        );
        assert_eq!(o.note, None);
    }

    #[test]
    fn an_array_is_not_read_as_a_struct() {
        let (field, message) = refusal(json!({"lines": [["SHM-00001", 2]]}));
        assert_eq!(field, "lines[0]");
        assert!(message.contains("expected a JSON object"), "{message}");
        assert_eq!(refusal(json!([[["SHM-00001", 2]], null])).0, "body");
        assert_eq!(refusal(json!("lines")).0, "body");
    }

    #[test]
    fn an_unknown_member_is_named() {
        let (field, message) = refusal(json!({"lines": [{"sku": "A", "quantity": 1, "price": 0}]}));
        assert_eq!(field, "lines[0].price");
        assert_eq!(message, "is not a member here; expected `sku` or `quantity`");
        assert_eq!(refusal(json!({"lines": [], "sql": "--"})).0, "sql");
    }

    #[test]
    fn a_wrong_type_is_named_by_its_path() {
        let (field, message) = refusal(json!({"lines": [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": "2"}]}));
        assert_eq!(field, "lines[1].quantity");
        assert!(message.starts_with("invalid type: string \"2\""), "{message}");
        assert_eq!(refusal(json!({"lines": "twelve"})).0, "lines");
        assert_eq!(refusal(json!({"lines": [], "note": 5})).0, "note");
    }

    #[test]
    fn a_missing_member_is_named_by_its_path() {
        assert_eq!(
            refusal(json!({"lines": [{"sku": "A", "quantity": 1}, {"sku": "B"}]})),
            ("lines[1].quantity".to_string(), "is required".to_string())
        );
        assert_eq!(refusal(json!({})).0, "lines");
    }

    #[test]
    fn optional_and_non_struct_members_read_as_usual() {
        let o: Order = from_json(&json!({"lines": [], "note": null})).unwrap();
        assert_eq!(o.note, None);
        let o: Order = from_json(&json!({"lines": [], "note": "x"})).unwrap();
        assert_eq!(o.note.as_deref(), Some("x"));
    }
}
