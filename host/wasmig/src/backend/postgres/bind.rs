//! Parameter binding: a wasmig [`Value`] adapted to the type the server declared for its placeholder.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;

use bytes::BytesMut;
use tokio_postgres::types::{Format, IsNull, Kind, ToSql, Type};

use crate::sql::{DbError, Value};

/// Adapts `params` to the types the statement `declared` for its placeholders,
/// refusing a count that differs before anything runs.
pub(super) fn bind<'v>(params: &'v [Value], declared: &[Type]) -> Result<Vec<Binding<'v>>, DbError> {
    if declared.len() != params.len() {
        return Err(DbError {
            code: Some("08P01".to_owned()),
            message: format!(
                "the statement has {} placeholder(s) but {} parameter(s) were given",
                declared.len(),
                params.len()
            ),
            position: None,
        });
    }
    params.iter().zip(declared).enumerate().map(|(index, (value, ty))| Binding::new(value, ty, index + 1)).collect()
}

/// The bindings as the parameter list tokio-postgres takes.
pub(super) fn sql_params<'b>(bindings: &'b [Binding<'_>]) -> Vec<&'b (dyn ToSql + Sync)> {
    bindings.iter().map(|binding| binding as &(dyn ToSql + Sync)).collect()
}

/// A parameter adapted to the type the server declared for its placeholder.
#[derive(Debug)]
pub(super) enum Binding<'v> {
    Null,
    Bool(bool),
    Int2(i16),
    Int4(i32),
    Int8(i64),
    Oid(u32),
    Float4(f32),
    Float8(f64),
    Bytes(&'v [u8]),
    /// Sent in the text format: the server parses it with the type's input function.
    Text(Cow<'v, str>),
}

impl<'v> Binding<'v> {
    /// `number` is the placeholder's `$n`, for messages.
    fn new(value: &'v Value, declared: &Type, number: usize) -> Result<Self, DbError> {
        let ty = base_type(declared);
        let mismatch = |kind: &str, cast: &str| DbError {
            code: Some("42804".to_owned()),
            message: format!(
                "parameter ${number} is `{}` in this statement and {kind} cannot be bound to it: \
                 pass a value of the matching kind or cast the placeholder (`${number}::{cast}`)",
                declared.name()
            ),
            position: None,
        };
        let out_of_range = |number_value: &dyn fmt::Display| DbError {
            code: Some("22003".to_owned()),
            message: format!("parameter ${number}: {number_value} is out of range for type `{}`", declared.name()),
            position: None,
        };
        Ok(match value {
            Value::Null => Binding::Null,
            Value::Integer(integer) => match *ty {
                Type::INT2 => Binding::Int2(i16::try_from(*integer).map_err(|_| out_of_range(integer))?),
                Type::INT4 => Binding::Int4(i32::try_from(*integer).map_err(|_| out_of_range(integer))?),
                Type::INT8 => Binding::Int8(*integer),
                Type::OID => Binding::Oid(u32::try_from(*integer).map_err(|_| out_of_range(integer))?),
                Type::BOOL => match integer {
                    0 => Binding::Bool(false),
                    1 => Binding::Bool(true),
                    _ => return Err(out_of_range(integer)),
                },
                Type::FLOAT4 => Binding::Float4(*integer as f32),
                Type::FLOAT8 => Binding::Float8(*integer as f64),
                Type::NUMERIC => Binding::Text(Cow::Owned(integer.to_string())),
                _ => return Err(mismatch("an integer", "bigint")),
            },
            Value::Real(real) => match *ty {
                Type::FLOAT4 => Binding::Float4(*real as f32),
                Type::FLOAT8 => Binding::Float8(*real),
                Type::NUMERIC => Binding::Text(Cow::Owned(numeric_text(*real))),
                _ => return Err(mismatch("a real number", "float8")),
            },
            Value::Blob(bytes) => match *ty {
                Type::BYTEA => Binding::Bytes(bytes),
                _ => return Err(mismatch("a blob", "bytea")),
            },
            Value::Text(text) => Binding::Text(Cow::Borrowed(text)),
        })
    }
}

impl ToSql for Binding<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        // The binding was made for this very type (`Binding::new`).
        match self {
            Binding::Null => Ok(IsNull::Yes),
            Binding::Bool(value) => value.to_sql(ty, out),
            Binding::Int2(value) => value.to_sql(ty, out),
            Binding::Int4(value) => value.to_sql(ty, out),
            Binding::Int8(value) => value.to_sql(ty, out),
            Binding::Oid(value) => value.to_sql(ty, out),
            Binding::Float4(value) => value.to_sql(ty, out),
            Binding::Float8(value) => value.to_sql(ty, out),
            Binding::Bytes(value) => value.to_sql(ty, out),
            Binding::Text(text) => {
                out.extend_from_slice(text.as_bytes());
                Ok(IsNull::No)
            }
        }
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    fn encode_format(&self, _ty: &Type) -> Format {
        match self {
            Binding::Text(_) => Format::Text,
            _ => Format::Binary,
        }
    }

    tokio_postgres::types::to_sql_checked!();
}

/// How numeric's input function spells a float.
fn numeric_text(real: f64) -> String {
    if real.is_nan() {
        "NaN".to_owned()
    } else if real.is_infinite() {
        if real > 0.0 { "Infinity" } else { "-Infinity" }.to_owned()
    } else {
        real.to_string()
    }
}

/// A domain's base type; other types as they are.
pub(super) fn base_type(ty: &Type) -> &Type {
    match ty.kind() {
        Kind::Domain(base) => base_type(base),
        _ => ty,
    }
}
