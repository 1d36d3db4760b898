//! SQL values crossing the contract, and typed access to query results.

use crate::error::Error;

/// One SQL value: `Null`, `Integer(i64)`, `Real(f64)`, `Text(String)` or `Blob(Vec<u8>)`.
pub use crate::bindings::wasmig::revision::types::Value;

/// Builds the parameter list of [`Db::execute`](crate::Db::execute) and
/// [`Db::query`](crate::Db::query) from plain Rust values:
/// `params![42, "name", None::<i64>]`.
#[macro_export]
macro_rules! params {
    ($($value:expr),* $(,)?) => {
        &[$($crate::Value::from($value)),*][..]
    };
}

impl From<i64> for Value {
    fn from(value: i64) -> Self {
        Value::Integer(value)
    }
}

impl From<i32> for Value {
    fn from(value: i32) -> Self {
        Value::Integer(value.into())
    }
}

impl From<bool> for Value {
    fn from(value: bool) -> Self {
        Value::Integer(value.into())
    }
}

impl From<f64> for Value {
    fn from(value: f64) -> Self {
        Value::Real(value)
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Value::Text(value.to_owned())
    }
}

impl From<String> for Value {
    fn from(value: String) -> Self {
        Value::Text(value)
    }
}

impl From<&String> for Value {
    fn from(value: &String) -> Self {
        Value::Text(value.clone())
    }
}

impl From<Vec<u8>> for Value {
    fn from(value: Vec<u8>) -> Self {
        Value::Blob(value)
    }
}

impl From<&[u8]> for Value {
    fn from(value: &[u8]) -> Self {
        Value::Blob(value.to_vec())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(value: Option<T>) -> Self {
        value.map_or(Value::Null, Into::into)
    }
}

/// A Rust type a [`Value`] converts into: `i64`, `i32`, `bool`, `f64`,
/// `String`, `Vec<u8>`, `Value`, and `Option` of each for nullable columns.
pub trait FromValue: Sized {
    fn from_value(value: &Value) -> Result<Self, Error>;
}

fn mismatch(expected: &str, value: &Value) -> Error {
    let found = match value {
        Value::Null => "null",
        Value::Integer(_) => "integer",
        Value::Real(_) => "real",
        Value::Text(_) => "text",
        Value::Blob(_) => "blob",
    };
    Error::Value(format!("expected {expected}, found {found}"))
}

impl FromValue for Value {
    fn from_value(value: &Value) -> Result<Self, Error> {
        Ok(value.clone())
    }
}

impl FromValue for i64 {
    fn from_value(value: &Value) -> Result<Self, Error> {
        match value {
            Value::Integer(number) => Ok(*number),
            other => Err(mismatch("integer", other)),
        }
    }
}

impl FromValue for i32 {
    fn from_value(value: &Value) -> Result<Self, Error> {
        let wide = i64::from_value(value)?;
        i32::try_from(wide).map_err(|_| Error::Value(format!("{wide} does not fit in an i32")))
    }
}

impl FromValue for bool {
    fn from_value(value: &Value) -> Result<Self, Error> {
        Ok(i64::from_value(value)? != 0)
    }
}

impl FromValue for f64 {
    fn from_value(value: &Value) -> Result<Self, Error> {
        match value {
            Value::Real(number) => Ok(*number),
            // SQLite hands back whole reals as integers.
            Value::Integer(number) => Ok(*number as f64),
            other => Err(mismatch("real", other)),
        }
    }
}

impl FromValue for String {
    fn from_value(value: &Value) -> Result<Self, Error> {
        match value {
            Value::Text(text) => Ok(text.clone()),
            other => Err(mismatch("text", other)),
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(value: &Value) -> Result<Self, Error> {
        match value {
            Value::Blob(bytes) => Ok(bytes.clone()),
            other => Err(mismatch("blob", other)),
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: &Value) -> Result<Self, Error> {
        match value {
            Value::Null => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }
}

/// The rows a query returned.
#[derive(Debug, Clone, PartialEq)]
pub struct Rows {
    columns: Vec<String>,
    values: Vec<Vec<Value>>,
}

impl Rows {
    pub(crate) fn new(columns: Vec<String>, values: Vec<Vec<Value>>) -> Self {
        Rows { columns, values }
    }

    /// The column names, in select-list order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn first(&self) -> Option<Row<'_>> {
        self.iter().next()
    }

    pub fn iter(&self) -> impl Iterator<Item = Row<'_>> {
        self.values.iter().map(|values| Row { columns: &self.columns, values })
    }
}

/// One row of [`Rows`]; read a column by index or by name with [`Row::get`].
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    columns: &'a [String],
    values: &'a [Value],
}

/// A column reference: its 0-based index or its name.
pub trait ColumnIndex {
    fn position(&self, columns: &[String]) -> Option<usize>;
}

impl ColumnIndex for usize {
    fn position(&self, columns: &[String]) -> Option<usize> {
        (*self < columns.len()).then_some(*self)
    }
}

impl ColumnIndex for &str {
    fn position(&self, columns: &[String]) -> Option<usize> {
        columns.iter().position(|column| column == self)
    }
}

impl Row<'_> {
    /// The value of a column converted to `T`.
    pub fn get<T: FromValue>(&self, column: impl ColumnIndex + std::fmt::Debug) -> Result<T, Error> {
        let index = column
            .position(self.columns)
            .ok_or_else(|| Error::Value(format!("no column {column:?} in {:?}", self.columns)))?;
        T::from_value(&self.values[index]).map_err(|error| Error::Value(format!("column {column:?}: {error}")))
    }

    /// The raw values of the row.
    pub fn values(&self) -> &[Value] {
        self.values
    }
}
