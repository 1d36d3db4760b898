//! Row decoding: result columns read from the binary format into wasmig [`Value`]s.

use std::error::Error as StdError;

use tokio_postgres::types::{Kind, Type};
use tokio_postgres::{Column, Row};

use super::bind::base_type;
use super::error::error_chain;
use crate::sql::{DbError, Rows, Value, civil_from_days};

/// How a result column of type `ty` reaches the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ColumnKind {
    Bool,
    Int2,
    Int4,
    Int8,
    Oid,
    Float4,
    Float8,
    Bytes,
    /// Binary format is the UTF-8 text itself.
    Text,
    /// A version byte, then the JSON text.
    Jsonb,
    /// PostgreSQL's one-byte `"char"` (catalog columns such as `relkind`).
    Char,
    Numeric,
    Date,
    Time,
    Timestamp,
    TimestampTz,
    Uuid,
}

fn column_kind(ty: &Type) -> Option<ColumnKind> {
    let ty = base_type(ty);
    Some(match *ty {
        Type::BOOL => ColumnKind::Bool,
        Type::INT2 => ColumnKind::Int2,
        Type::INT4 => ColumnKind::Int4,
        Type::INT8 => ColumnKind::Int8,
        Type::OID => ColumnKind::Oid,
        Type::FLOAT4 => ColumnKind::Float4,
        Type::FLOAT8 => ColumnKind::Float8,
        Type::BYTEA => ColumnKind::Bytes,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN | Type::JSON => ColumnKind::Text,
        Type::JSONB => ColumnKind::Jsonb,
        Type::CHAR => ColumnKind::Char,
        Type::NUMERIC => ColumnKind::Numeric,
        Type::DATE => ColumnKind::Date,
        Type::TIME => ColumnKind::Time,
        Type::TIMESTAMP => ColumnKind::Timestamp,
        Type::TIMESTAMPTZ => ColumnKind::TimestampTz,
        Type::UUID => ColumnKind::Uuid,
        _ if matches!(ty.kind(), Kind::Enum(_)) || ty.name() == "citext" => ColumnKind::Text,
        _ => return None,
    })
}

/// Refuses a result column whose type wasmig does not pass to revisions,
/// naming it and suggesting a cast.
pub(super) fn check_columns(columns: &[Column]) -> Result<(), DbError> {
    for column in columns {
        check_column_type(column.name(), column.type_())?;
    }
    Ok(())
}

fn check_column_type(name: &str, ty: &Type) -> Result<(), DbError> {
    match column_kind(ty) {
        Some(_) => Ok(()),
        None => Err(DbError::host(format!(
            "column `{name}` has type `{}`, which wasmig does not pass to revisions as a value: \
             cast it in the query, e.g. `{name}::text`",
            ty.name()
        ))),
    }
}

/// How many bytes of decoded values one query may hold in host memory.
///
/// Each value counts its payload (text or blob bytes, at least 8 for a
/// number) plus the size of a [`Value`]; each row the size of its `Vec`.
/// A cell is measured on its raw bytes before it is copied, so a value that
/// would not fit is never decoded.
#[derive(Debug, Clone, Copy)]
pub(super) struct ResultBudget {
    limit: u64,
    used: u64,
}

/// The host memory one held value costs besides its payload.
const VALUE_OVERHEAD: u64 = std::mem::size_of::<Value>() as u64;
/// The host memory one held row costs besides its values.
const ROW_OVERHEAD: u64 = std::mem::size_of::<Vec<Value>>() as u64;

impl ResultBudget {
    pub(super) fn new(limit: u64) -> Self {
        ResultBudget { limit, used: 0 }
    }

    fn take(&mut self, bytes: u64) -> Result<(), OverBudget> {
        let used = self.used.saturating_add(bytes);
        if used > self.limit {
            return Err(OverBudget);
        }
        self.used = used;
        Ok(())
    }
}

/// A result that would hold more than its [`ResultBudget`].
#[derive(Debug, Clone, Copy)]
pub(super) struct OverBudget;

/// Why one row could not be added to a result.
#[derive(Debug)]
pub(super) enum RowError {
    OverBudget,
    Decode(DbError),
}

/// An empty result for a query whose `columns` passed [`check_columns`]:
/// the column names, counted against `budget`.
pub(super) fn empty_rows(columns: &[Column], budget: &mut ResultBudget) -> Result<Rows, OverBudget> {
    let names: Vec<String> = columns.iter().map(|column| column.name().to_owned()).collect();
    budget.take(names.iter().map(|name| name.len() as u64 + ROW_OVERHEAD).sum())?;
    Ok(Rows { columns: names, values: Vec::new() })
}

/// Decodes one row of a query whose `columns` passed [`check_columns`] and
/// appends it to `rows`, unless it would take `budget` over its limit.
pub(super) fn push_row(
    columns: &[Column],
    row: &Row,
    rows: &mut Rows,
    budget: &mut ResultBudget,
) -> Result<(), RowError> {
    budget.take(ROW_OVERHEAD).map_err(|OverBudget| RowError::OverBudget)?;
    let mut record = Vec::with_capacity(columns.len());
    for (index, column) in columns.iter().enumerate() {
        let read_error = |error: &dyn StdError| {
            RowError::Decode(DbError {
                code: Some(DbError::HOST_CODE.to_owned()),
                message: format!("cannot read column `{}`: {}", column.name(), error_chain(error)),
                position: None,
            })
        };
        let raw: RawCell<'_> = row.try_get(index).map_err(|error| read_error(&error))?;
        let payload = raw.0.map_or(0, |bytes| bytes.len() as u64).max(8);
        budget.take(payload + VALUE_OVERHEAD).map_err(|OverBudget| RowError::OverBudget)?;
        let cell = match raw.0 {
            None => Value::Null,
            Some(bytes) => {
                <Cell as tokio_postgres::types::FromSql>::from_sql(column.type_(), bytes)
                    .map_err(|error| read_error(error.as_ref()))?
                    .0
            }
        };
        record.push(cell);
    }
    rows.values.push(record);
    Ok(())
}

/// A cell's raw bytes, borrowed from the row: measured before it is decoded.
struct RawCell<'a>(Option<&'a [u8]>);

impl<'a> tokio_postgres::types::FromSql<'a> for RawCell<'a> {
    fn from_sql(_ty: &Type, raw: &'a [u8]) -> Result<Self, DecodeError> {
        Ok(RawCell(Some(raw)))
    }

    fn from_sql_null(_ty: &Type) -> Result<Self, DecodeError> {
        Ok(RawCell(None))
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }
}

/// One result value, read from the binary format.
struct Cell(Value);

type DecodeError = Box<dyn StdError + Sync + Send>;

impl<'a> tokio_postgres::types::FromSql<'a> for Cell {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, DecodeError> {
        let kind = column_kind(ty).ok_or_else(|| format!("type `{}` is not supported", ty.name()))?;
        Ok(Cell(match kind {
            ColumnKind::Bool => Value::Integer(i64::from(bool::from_sql(ty, raw)?)),
            ColumnKind::Int2 => Value::Integer(i64::from(i16::from_sql(ty, raw)?)),
            ColumnKind::Int4 => Value::Integer(i64::from(i32::from_sql(ty, raw)?)),
            ColumnKind::Int8 => Value::Integer(i64::from_sql(ty, raw)?),
            ColumnKind::Oid => Value::Integer(i64::from(u32::from_sql(ty, raw)?)),
            ColumnKind::Float4 => Value::Real(f64::from(f32::from_sql(ty, raw)?)),
            ColumnKind::Float8 => Value::Real(f64::from_sql(ty, raw)?),
            ColumnKind::Bytes => Value::Blob(raw.to_vec()),
            ColumnKind::Text => Value::Text(std::str::from_utf8(raw)?.to_owned()),
            ColumnKind::Jsonb => match raw.split_first() {
                Some((1, json)) => Value::Text(std::str::from_utf8(json)?.to_owned()),
                _ => return Err("unsupported jsonb version".into()),
            },
            ColumnKind::Char => Value::Text(char::from(fixed::<1>(raw)?[0]).to_string()),
            ColumnKind::Numeric => Value::Text(numeric_to_text(raw)?),
            ColumnKind::Date => Value::Text(date_to_text(i32::from_be_bytes(fixed(raw)?))),
            ColumnKind::Time => Value::Text(time_of_day(i64::from_be_bytes(fixed(raw)?))),
            ColumnKind::Timestamp => Value::Text(timestamp_to_text(i64::from_be_bytes(fixed(raw)?), "")),
            ColumnKind::TimestampTz => Value::Text(timestamp_to_text(i64::from_be_bytes(fixed(raw)?), "+00")),
            ColumnKind::Uuid => Value::Text(uuid_to_text(&fixed::<16>(raw)?)),
        }))
    }

    fn from_sql_null(_ty: &Type) -> Result<Self, DecodeError> {
        Ok(Cell(Value::Null))
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }
}

fn fixed<const N: usize>(raw: &[u8]) -> Result<[u8; N], DecodeError> {
    raw.try_into().map_err(|_| format!("expected {N} bytes, the server sent {}", raw.len()).into())
}

/// numeric's binary form: digit count, weight, sign, display scale, then
/// base-10000 digits, the first worth 10000^weight.
fn numeric_to_text(raw: &[u8]) -> Result<String, DecodeError> {
    let header: [u8; 8] = raw.get(..8).ok_or("numeric value too short")?.try_into()?;
    let count = usize::from(u16::from_be_bytes([header[0], header[1]]));
    let weight = i64::from(i16::from_be_bytes([header[2], header[3]]));
    let sign = u16::from_be_bytes([header[4], header[5]]);
    let scale = usize::from(u16::from_be_bytes([header[6], header[7]]));
    match sign {
        0x0000 | 0x4000 => {}
        0xC000 => return Ok("NaN".to_owned()),
        0xD000 => return Ok("Infinity".to_owned()),
        0xF000 => return Ok("-Infinity".to_owned()),
        _ => return Err(format!("unknown numeric sign {sign:#x}").into()),
    }
    let body = raw.get(8..8 + 2 * count).ok_or("numeric value shorter than its digit count")?;
    let digits: Vec<i64> = body.chunks_exact(2).map(|pair| i64::from(i16::from_be_bytes([pair[0], pair[1]]))).collect();
    let digit_at = |exponent: i64| -> i64 {
        let index = weight - exponent;
        if index < 0 {
            0
        } else {
            usize::try_from(index).ok().and_then(|index| digits.get(index)).copied().unwrap_or(0)
        }
    };
    let mut text = String::new();
    if sign == 0x4000 {
        text.push('-');
    }
    if weight < 0 {
        text.push('0');
    } else {
        text.push_str(&digit_at(weight).to_string());
        for exponent in (0..weight).rev() {
            text.push_str(&format!("{:04}", digit_at(exponent)));
        }
    }
    if scale > 0 {
        let mut fraction = String::with_capacity(scale + 4);
        let mut exponent = -1;
        while fraction.len() < scale {
            fraction.push_str(&format!("{:04}", digit_at(exponent)));
            exponent -= 1;
        }
        fraction.truncate(scale);
        text.push('.');
        text.push_str(&fraction);
    }
    Ok(text)
}

/// Days since 1970-01-01 of 2000-01-01, PostgreSQL's epoch.
const POSTGRES_EPOCH_DAYS: i64 = 10_957;
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// `YYYY-MM-DD` as PostgreSQL prints it (ISO style), with its BC suffix
/// returned separately because a time goes between them.
fn date_parts(days_since_2000: i64) -> (String, &'static str) {
    let (year, month, day) = civil_from_days(days_since_2000 + POSTGRES_EPOCH_DAYS);
    if year <= 0 {
        (format!("{:04}-{month:02}-{day:02}", 1 - year), " BC")
    } else {
        (format!("{year:04}-{month:02}-{day:02}"), "")
    }
}

fn date_to_text(days: i32) -> String {
    match days {
        i32::MAX => "infinity".to_owned(),
        i32::MIN => "-infinity".to_owned(),
        days => {
            let (date, era) = date_parts(i64::from(days));
            format!("{date}{era}")
        }
    }
}

/// `HH:MM:SS[.ffffff]`, trailing zeros of the fraction dropped as PostgreSQL does.
fn time_of_day(micros: i64) -> String {
    let seconds = micros / 1_000_000;
    let fraction = micros % 1_000_000;
    let mut text = format!("{:02}:{:02}:{:02}", seconds / 3600, seconds / 60 % 60, seconds % 60);
    if fraction != 0 {
        let digits = format!("{fraction:06}");
        text.push('.');
        text.push_str(digits.trim_end_matches('0'));
    }
    text
}

/// A timestamp (microseconds since 2000-01-01) as PostgreSQL prints it;
/// `zone` is `+00` for timestamptz, which is rendered in UTC.
fn timestamp_to_text(micros: i64, zone: &str) -> String {
    match micros {
        i64::MAX => "infinity".to_owned(),
        i64::MIN => "-infinity".to_owned(),
        micros => {
            let (date, era) = date_parts(micros.div_euclid(MICROS_PER_DAY));
            format!("{date} {}{zone}{era}", time_of_day(micros.rem_euclid(MICROS_PER_DAY)))
        }
    }
}

fn uuid_to_text(bytes: &[u8; 16]) -> String {
    let hex = hex::encode(bytes);
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_print_as_postgres_does() {
        assert_eq!(date_to_text(0), "2000-01-01");
        assert_eq!(date_to_text(-1), "1999-12-31");
        assert_eq!(date_to_text(8825), "2024-02-29");
        assert_eq!(date_to_text(-730_119), "0001-01-01");
        assert_eq!(date_to_text(-730_120), "0001-12-31 BC");
        assert_eq!(timestamp_to_text(MICROS_PER_DAY + 3_723_500_000, ""), "2000-01-02 01:02:03.5");
        assert_eq!(timestamp_to_text(-1, "+00"), "1999-12-31 23:59:59.999999+00");
        assert_eq!(time_of_day(0), "00:00:00");
    }

    #[test]
    fn numerics_print_with_their_scale() {
        fn numeric(weight: i16, sign: u16, scale: u16, digits: &[i16]) -> Vec<u8> {
            let mut raw = Vec::new();
            raw.extend_from_slice(&(digits.len() as u16).to_be_bytes());
            raw.extend_from_slice(&weight.to_be_bytes());
            raw.extend_from_slice(&sign.to_be_bytes());
            raw.extend_from_slice(&scale.to_be_bytes());
            for digit in digits {
                raw.extend_from_slice(&digit.to_be_bytes());
            }
            raw
        }
        assert_eq!(numeric_to_text(&numeric(0, 0, 0, &[])).unwrap(), "0");
        assert_eq!(numeric_to_text(&numeric(1, 0x4000, 4, &[12, 3456, 7800])).unwrap(), "-123456.7800");
        assert_eq!(numeric_to_text(&numeric(-1, 0, 6, &[12])).unwrap(), "0.001200");
        assert_eq!(numeric_to_text(&numeric(2, 0, 0, &[1])).unwrap(), "100000000");
        assert_eq!(numeric_to_text(&numeric(0, 0xC000, 0, &[])).unwrap(), "NaN");
    }
}
