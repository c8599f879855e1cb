//! What generated bindings and `#[fal_endpoint]` output call, written once here
//! instead of being pasted into every generated file. Not part of the stable
//! API: the generator and this module change together.
//!
//! - [`serde`] and [`serde_json`]: re-exported so a user's crate needs no
//!   dependency besides `fal-runtime` to compile generated code.
//! - Serde helpers ([`Key`], [`KeyOrName`], [`put`], [`set`], [`skip`], [`missing`],
//!   [`Entries`], [`string_enum`], [`Buffered`], [`tagged_entry`]):
//!   generated impls read maps key by key
//!   (streaming, so `serde_path_to_error` reports `images[0].width` and any
//!   self-describing format works, JSON or msgpack alike) instead of going
//!   through a `serde_json::Map`.
//! - [`unlisted`]: the only way to build an [`crate::UnlistedValue`].
//! - Validation: [`Rules`] (a schema position's rules and pydantic's way of
//!   reporting them, shared with fal-testkit), [`Validate`] and [`validate()`](validate())
//!   behind every generated input's `validate()`.

mod rules;
mod validate;

use std::fmt;

pub use rules::{choices, not_listed, not_literal, number, Rules, Violation};
pub use serde;
pub use serde_json;
pub use validate::{validate, Validate, Validator};

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize};

use crate::values::UnlistedValue;

/// A map key seed: the position of the key in a struct's field list, `None`
/// for a key the struct does not declare (skipped, so fields fal adds later
/// never break a binding).
///
/// The key is matched inside the visitor, so known keys are never allocated;
/// `serde_path_to_error` still sees the key and records it in the path.
#[derive(Clone, Copy)]
pub struct Key(pub &'static [&'static str]);

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(self.0.iter().position(|name| *name == key))
    }

    fn visit_bytes<E: de::Error>(self, key: &[u8]) -> Result<Self::Value, E> {
        Ok(self.0.iter().position(|name| name.as_bytes() == key))
    }

    // Non-string keys (a msgpack map may have any) are never fields.
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// A map key seed for a struct that keeps the members it does not declare
/// (`additionalProperties` next to `properties`): the position of a declared
/// key, or the name of any other, which the struct stores with its value.
#[derive(Clone, Copy)]
pub struct KeyOrName(pub &'static [&'static str]);

impl<'de> DeserializeSeed<'de> for KeyOrName {
    type Value = Result<usize, String>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyOrName {
    type Value = Result<usize, String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(self
            .0
            .iter()
            .position(|name| *name == key)
            .ok_or_else(|| key.to_owned()))
    }

    fn visit_bytes<E: de::Error>(self, key: &[u8]) -> Result<Self::Value, E> {
        match std::str::from_utf8(key) {
            Ok(key) => self.visit_str(key),
            Err(_) => Err(E::invalid_value(de::Unexpected::Bytes(key), &self)),
        }
    }

    // A msgpack map may have number keys: kept under their decimal text, as
    // JSON would spell them.
    fn visit_u64<E: de::Error>(self, key: u64) -> Result<Self::Value, E> {
        Ok(Err(key.to_string()))
    }

    fn visit_i64<E: de::Error>(self, key: i64) -> Result<Self::Value, E> {
        Ok(Err(key.to_string()))
    }
}

/// Skips the value of a key the struct does not declare.
pub fn skip<'de, A: MapAccess<'de>>(map: &mut A) -> Result<(), A::Error> {
    map.next_value::<IgnoredAny>().map(|_| ())
}

/// Reads the value of a required field's key into its slot (`null` is an
/// error: the field's type does not take it).
pub fn put<'de, T: Deserialize<'de>, A: MapAccess<'de>>(
    slot: &mut Option<T>,
    map: &mut A,
) -> Result<(), A::Error> {
    *slot = Some(map.next_value()?);
    Ok(())
}

/// Reads the value of an optional field's key into its slot (`null` reads as
/// `None`, like an absent key).
pub fn set<'de, T: Deserialize<'de>, A: MapAccess<'de>>(
    slot: &mut Option<T>,
    map: &mut A,
) -> Result<(), A::Error> {
    *slot = map.next_value()?;
    Ok(())
}

/// Deserializes a string enum: `parse` maps a wire value to the enum (known
/// values to their variant, others to the `Other` arm, so values fal adds
/// later still deserialize and round-trip).
pub fn string_enum<'de, D, T>(
    deserializer: D,
    expecting: &'static str,
    parse: fn(&str) -> T,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    struct StringEnum<T> {
        expecting: &'static str,
        parse: fn(&str) -> T,
    }
    impl<T> Visitor<'_> for StringEnum<T> {
        type Value = T;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.expecting)
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<T, E> {
            Ok((self.parse)(value))
        }

        fn visit_bytes<E: de::Error>(self, value: &[u8]) -> Result<T, E> {
            match std::str::from_utf8(value) {
                Ok(text) => Ok((self.parse)(text)),
                Err(_) => Err(E::invalid_value(de::Unexpected::Bytes(value), &self)),
            }
        }
    }
    deserializer.deserialize_str(StringEnum { expecting, parse })
}

/// Builds the payload of a generated enum's `Other` arm; generated
/// `from_wire` constructors call it only for values they do not list.
pub fn unlisted(value: &str) -> UnlistedValue {
    UnlistedValue::new(value.to_owned())
}

/// A value read once from any self-describing format and kept in memory, so
/// a generated union can try its forms in order (like serde's untagged enums)
/// without knowing the format (JSON and msgpack alike).
#[derive(Clone, Debug)]
pub struct Buffered(serde_value::Value);

impl<'de> Deserialize<'de> for Buffered {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde_value::Value::deserialize(deserializer).map(Buffered)
    }
}

impl Buffered {
    /// The value as `T`, or `None` when it does not have `T`'s shape.
    pub fn parse<'de, T: Deserialize<'de>>(&self) -> Option<T> {
        T::deserialize(serde_value::ValueDeserializer::<
            serde_value::DeserializerError,
        >::new(self.0.clone()))
        .ok()
    }

    /// The error a union reports when no form fits: it names the forms.
    pub fn mismatch<E: de::Error>(&self, expecting: &'static str) -> E {
        E::custom(format_args!("expected {expecting}"))
    }

    /// The string value of member `tag` of a buffered object: what picks the
    /// arm of a tagged union.
    pub fn tag<E: de::Error>(&self, tag: &'static str) -> Result<String, E> {
        let serde_value::Value::Map(map) = &self.0 else {
            return Err(E::invalid_type(self.unexpected(), &"an object"));
        };
        match map.get(&serde_value::Value::String(tag.to_owned())) {
            Some(serde_value::Value::String(value)) => Ok(value.clone()),
            _ => Err(E::custom(format_args!(
                "the object has no string `{tag}`, which tells its kind"
            ))),
        }
    }

    /// The buffered object as `T`, without member `drop` when given (the tag,
    /// for an arm that does not hold it itself).
    pub fn arm<T: de::DeserializeOwned, E: de::Error>(
        &self,
        drop: Option<&'static str>,
    ) -> Result<T, E> {
        let mut value = self.0.clone();
        if let (serde_value::Value::Map(map), Some(drop)) = (&mut value, drop) {
            map.remove(&serde_value::Value::String(drop.to_owned()));
        }
        T::deserialize(serde_value::ValueDeserializer::<
            serde_value::DeserializerError,
        >::new(value))
        .map_err(E::custom)
    }

    fn unexpected(&self) -> de::Unexpected<'_> {
        match &self.0 {
            serde_value::Value::Bool(b) => de::Unexpected::Bool(*b),
            serde_value::Value::String(s) => de::Unexpected::Str(s),
            serde_value::Value::Seq(_) => de::Unexpected::Seq,
            serde_value::Value::Unit | serde_value::Value::Option(None) => de::Unexpected::Unit,
            _ => de::Unexpected::Other("a value"),
        }
    }
}

/// Writes a struct's fields into a map, keeping the first error: generated
/// `serialize` bodies make one plain call per field and return once (from
/// [`Entries::end`]); a `?` per field was measurably more to type-check and
/// borrow-check in a crate of a thousand endpoints (docs/codegen.md,
/// Benchmark). After an error nothing more is written, as with `?`.
pub struct Entries<M: SerializeMap> {
    map: M,
    error: Option<M::Error>,
}

impl<M: SerializeMap> Entries<M> {
    /// Starts writing into `map` (from `serialize_map`).
    pub fn new(map: M) -> Self {
        Self { map, error: None }
    }

    /// Writes one member, unless an earlier write failed.
    pub fn put<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) {
        if self.error.is_none() {
            self.error = self.map.serialize_entry(name, value).err();
        }
    }

    /// Writes an optional field, leaving it out when unset (so fal applies
    /// its default instead of receiving `null`).
    pub fn opt<T: Serialize>(&mut self, name: &str, value: &Option<T>) {
        if let Some(value) = value {
            self.put(name, value);
        }
    }

    /// Writes the members a struct keeps beyond its declared fields
    /// (`additionalProperties`).
    pub fn extra<'a, T: Serialize + 'a>(
        &mut self,
        members: impl IntoIterator<Item = (&'a String, &'a T)>,
    ) {
        for (name, value) in members {
            self.put(name, value);
        }
    }

    /// Ends the map, or returns the first error of a write.
    pub fn end(self) -> Result<M::Ok, M::Error> {
        match self.error {
            Some(error) => Err(error),
            None => self.map.end(),
        }
    }
}

/// The error for a required field missing once the whole map has been read.
pub fn missing<E: de::Error>(name: &'static str) -> E {
    E::missing_field(name)
}

/// Writes an object with `tag: value` first, then the members of `fields`:
/// an arm of a tagged union that does not hold its tag itself.
pub fn tagged_entry<S, T>(
    serializer: S,
    tag: &'static str,
    value: &'static str,
    fields: &T,
) -> Result<S::Ok, S::Error>
where
    S: serde::Serializer,
    T: Serialize,
{
    use serde::ser::Error as _;
    let mut object = serde_json::Map::new();
    object.insert(tag.to_owned(), serde_json::Value::String(value.to_owned()));
    match serde_json::to_value(fields).map_err(S::Error::custom)? {
        serde_json::Value::Object(rest) => object.extend(rest),
        _ => {
            return Err(S::Error::custom(format_args!(
                "the `{value}` arm is not an object"
            )))
        }
    }
    object.serialize(serializer)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A struct deserialized the way generated code does it.
    #[derive(Debug, PartialEq)]
    struct Size {
        width: i64,
        height: Option<i64>,
    }

    impl<'de> Deserialize<'de> for Size {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Size;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a Size object")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Size, A::Error> {
                    let mut width = None;
                    let mut height = None;
                    while let Some(key) = map.next_key_seed(Key(&["width", "height"]))? {
                        match key {
                            Some(0) => put(&mut width, &mut map),
                            Some(1) => set(&mut height, &mut map),
                            _ => skip(&mut map),
                        }?;
                    }
                    match (width,) {
                        (Some(width),) => Ok(Size { width, height }),
                        (None,) => Err(missing("width")),
                    }
                }
            }
            deserializer.deserialize_map(V)
        }
    }

    impl Serialize for Size {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let mut map = Entries::new(serializer.serialize_map(None)?);
            map.put("width", &self.width);
            map.opt("height", &self.height);
            map.end()
        }
    }

    /// Fails to serialize, counting its attempts.
    struct Failing<'a>(&'a std::cell::Cell<u32>);

    impl Serialize for Failing<'_> {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            self.0.set(self.0.get() + 1);
            Err(serde::ser::Error::custom("refused"))
        }
    }

    #[test]
    fn entries_leave_unset_fields_out_and_stop_at_the_first_error() {
        let text = serde_json::to_string(&Size {
            width: 3,
            height: None,
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(text, r#"{"width":3}"#);

        struct Two<'a>(&'a std::cell::Cell<u32>);
        impl Serialize for Two<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = Entries::new(serializer.serialize_map(None)?);
                map.put("a", &Failing(self.0));
                map.put("b", &Failing(self.0));
                let extra: std::collections::BTreeMap<String, i64> =
                    [("c".to_owned(), 1)].into_iter().collect();
                map.extra(&extra);
                map.end()
            }
        }
        let attempts = std::cell::Cell::new(0);
        let err = serde_json::to_string(&Two(&attempts)).err();
        assert!(err.is_some_and(|e| e.to_string() == "refused"));
        assert_eq!(
            attempts.get(),
            1,
            "nothing is written after the first error"
        );
    }

    #[test]
    fn paths_survive_streaming_reads() {
        let json = r#"{"sizes": [{"width": 1}, {"width": "wide", "extra": [1]}]}"#;
        #[derive(Deserialize)]
        #[allow(dead_code)]
        struct Outer {
            sizes: Vec<Size>,
        }
        let mut de = serde_json::Deserializer::from_str(json);
        let err = match serde_path_to_error::deserialize::<_, Outer>(&mut de) {
            Ok(_) => panic!("a string width must not deserialize"),
            Err(err) => err,
        };
        assert_eq!(err.path().to_string(), "sizes[1].width");
        assert!(err.inner().to_string().contains("expected i64"), "{err}");
    }

    #[test]
    fn msgpack_reads_the_same_types() {
        let value = serde_json::json!({"height": 2, "width": 3, "unknown": {"a": [true]}});
        let bytes = rmp_serde::to_vec_named(&value).unwrap_or_default();
        let size: Size = rmp_serde::from_slice(&bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            size,
            Size {
                width: 3,
                height: Some(2)
            }
        );
        let missing =
            rmp_serde::to_vec_named(&serde_json::json!({"height": 2})).unwrap_or_default();
        let err = rmp_serde::from_slice::<Size>(&missing).err();
        assert!(err.is_some_and(|e| e.to_string().contains("width")));
    }

    #[test]
    fn buffered_values_try_each_form() {
        let buffered: Buffered =
            serde_json::from_str(r#"{"width": 4}"#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(buffered.parse::<String>(), None);
        assert_eq!(
            buffered.parse::<Size>(),
            Some(Size {
                width: 4,
                height: None
            })
        );
        let text: Buffered = serde_json::from_str(r#""square""#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(text.parse::<String>().as_deref(), Some("square"));
    }
}
