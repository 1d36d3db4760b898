//! The app's own tables: the greetings it serves, read through a connection it opens only after migrations are done.
//!
//! The connection is wasmig's own backend (`wasmig::Database`), so one
//! dependency serves both SQLite and PostgreSQL; a real app would use its
//! usual database library here.

use wasmig::Database;
use wasmig::sql::{DbError, Dialect, Value};

use crate::events::{Event, StartupLog};

/// One row of `greetings`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Greeting {
    pub language: String,
    pub text: String,
}

/// The open tables of the app.
#[derive(Debug)]
pub struct Store {
    database: Database,
    log: StartupLog,
}

impl Store {
    /// Connects and checks that the tables the app needs are there.
    pub fn open(database_url: &str, log: StartupLog) -> Result<Store, String> {
        let mut database = Database::connect(database_url).map_err(|error| error.to_string())?;
        let rows = database
            .query("SELECT count(*) FROM greetings", &[])
            .map_err(|error| format!("{}: reading greetings: {error}", database.describe()))?;
        let greetings = match rows.values.first().and_then(|row| row.first()) {
            Some(Value::Integer(count)) => *count,
            other => return Err(format!("count(*) of greetings returned {other:?}")),
        };
        log.record(Event::TablesOpened { greetings });
        Ok(Store { database, log })
    }

    /// Every greeting, or only the one for `language`.
    pub fn greetings(&mut self, language: Option<&str>) -> Result<Vec<Greeting>, DbError> {
        self.log.record(Event::TableRead("greetings"));
        let database = &mut self.database;
        let rows = match language {
            None => database.query("SELECT language, text FROM greetings ORDER BY id", &[])?,
            Some(language) => {
                let placeholder = match database.dialect() {
                    Dialect::Sqlite => "?1",
                    Dialect::Postgres => "$1",
                };
                let sql = format!("SELECT language, text FROM greetings WHERE language = {placeholder} ORDER BY id");
                database.query(&sql, &[Value::Text(language.to_owned())])?
            }
        };
        rows.values
            .into_iter()
            .map(|row| match row.as_slice() {
                [Value::Text(language), Value::Text(text)] => {
                    Ok(Greeting { language: language.clone(), text: text.clone() })
                }
                other => {
                    Err(DbError { code: None, message: format!("unexpected greetings row {other:?}"), position: None })
                }
            })
            .collect()
    }
}
