//! An answer read leniently, as the schema shapes it: a field of the wrong type reads as
//! absent, an item that is not an object as an item with no fields, so that validation (not
//! the JSON reader) decides what is dropped, and counts it. Strings borrow from the answer
//! text where they can.

use std::borrow::Cow;

use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

/// An answer as the schema shapes it, borrowed from the answer text where it can be.
#[derive(Deserialize)]
pub(super) struct RawAnswer<'a> {
    #[serde(borrow)]
    pub entities: Vec<RawEntity<'a>>,
    #[serde(borrow, default)]
    pub relations: Vec<RawRelation<'a>>,
}

/// The answer of a relations pass (`--relations two-pass`): relations only.
#[derive(Deserialize)]
pub(super) struct RawRelations<'a> {
    #[serde(borrow)]
    pub relations: Vec<RawRelation<'a>>,
}

impl<'a> From<RawRelations<'a>> for RawAnswer<'a> {
    fn from(r: RawRelations<'a>) -> Self {
        RawAnswer {
            entities: Vec::new(),
            relations: r.relations,
        }
    }
}

#[derive(Deserialize, Default)]
pub(super) struct RawEntity<'a> {
    #[serde(borrow, default)]
    pub name: Text<'a>,
    #[serde(rename = "type", borrow, default)]
    pub kind: Text<'a>,
    #[serde(borrow, default)]
    pub description: Text<'a>,
}

#[derive(Deserialize, Default)]
pub(super) struct RawRelation<'a> {
    #[serde(borrow, default)]
    pub source: Text<'a>,
    #[serde(borrow, default)]
    pub target: Text<'a>,
    #[serde(rename = "type", borrow, default)]
    pub kind: Text<'a>,
    #[serde(borrow, default)]
    pub description: Text<'a>,
    #[serde(default)]
    pub strength: Number,
}

/// A string field read leniently: a value of any other type reads as absent ("").
#[derive(Default)]
pub(super) struct Text<'a>(pub Option<Cow<'a, str>>);

impl Text<'_> {
    pub fn get(&self) -> &str {
        self.0.as_deref().unwrap_or("")
    }
}

/// A number field read leniently: a value of any other type reads as absent.
#[derive(Default)]
pub(super) struct Number(pub Option<f64>);

/// Accepts any JSON value; keeps strings (Text) or numbers (Number), skips the rest.
struct Lenient<T>(std::marker::PhantomData<T>);

impl<'de, T: From<Scalar<'de>> + Default> Visitor<'de> for Lenient<T> {
    type Value = T;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<T, E> {
        Ok(Scalar::Str(Cow::Borrowed(v)).into())
    }
    fn visit_str<E>(self, v: &str) -> Result<T, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_string())).into())
    }
    fn visit_string<E>(self, v: String) -> Result<T, E> {
        Ok(Scalar::Str(Cow::Owned(v)).into())
    }
    fn visit_f64<E>(self, v: f64) -> Result<T, E> {
        Ok(Scalar::Num(v).into())
    }
    fn visit_i64<E>(self, v: i64) -> Result<T, E> {
        Ok(Scalar::Num(v as f64).into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<T, E> {
        Ok(Scalar::Num(v as f64).into())
    }
    fn visit_bool<E>(self, _: bool) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_unit<E>(self) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_none<E>(self) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(T::default())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(T::default())
    }
}

enum Scalar<'a> {
    Str(Cow<'a, str>),
    Num(f64),
}

impl<'a> From<Scalar<'a>> for Text<'a> {
    fn from(s: Scalar<'a>) -> Self {
        match s {
            Scalar::Str(s) => Text(Some(s)),
            Scalar::Num(_) => Text(None),
        }
    }
}

impl From<Scalar<'_>> for Number {
    fn from(s: Scalar<'_>) -> Self {
        match s {
            Scalar::Num(n) => Number(Some(n)),
            Scalar::Str(_) => Number(None),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Lenient(std::marker::PhantomData))
    }
}

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Lenient(std::marker::PhantomData))
    }
}

impl<'a> RawAnswer<'a> {
    /// The lenient reading of a repaired answer: items that are not objects count as
    /// items with no fields (dropped by validation), fields of another type as absent.
    /// Err: why the value is not the schema's shape (the answer is `Invalid`).
    /// `relations_only`: the answer of a relations pass, which has no entities.
    pub fn from_value(value: &'a serde_json::Value, relations_only: bool) -> Result<Self, String> {
        let obj = value
            .as_object()
            .ok_or_else(|| String::from("top level is not an object"))?;
        let entities: &[serde_json::Value] = match obj.get("entities").and_then(|e| e.as_array()) {
            Some(e) => e,
            None if relations_only => &[],
            None => return Err(String::from("no \"entities\" array")),
        };
        if relations_only
            && !obj
                .get("relations")
                .is_some_and(serde_json::Value::is_array)
        {
            return Err(String::from("no \"relations\" array"));
        }
        let relations: &[serde_json::Value] = match obj.get("relations") {
            Some(r) => r
                .as_array()
                .map(Vec::as_slice)
                .ok_or_else(|| String::from("\"relations\" is not an array"))?,
            None => &[],
        };
        let text = |v: &'a serde_json::Value, key: &str| {
            Text(v.get(key).and_then(|x| x.as_str()).map(Cow::Borrowed))
        };
        Ok(RawAnswer {
            entities: entities
                .iter()
                .map(|e| RawEntity {
                    name: text(e, "name"),
                    kind: text(e, "type"),
                    description: text(e, "description"),
                })
                .collect(),
            relations: relations
                .iter()
                .map(|r| RawRelation {
                    source: text(r, "source"),
                    target: text(r, "target"),
                    kind: text(r, "type"),
                    description: text(r, "description"),
                    strength: Number(r.get("strength").and_then(|x| x.as_f64())),
                })
                .collect(),
        })
    }
}
