//! libpq's connection settings as a connection string gives them ([`Params`]): a `postgres://` URL or a key=value string parsed into keywords, and each keyword's value, else its `PG*` environment variable.

use std::collections::BTreeMap;
use std::fmt;

use percent_encoding::percent_decode_str;

use super::environment::Environment;
use super::settings_error::{SettingsError, syntax};

/// libpq's connection settings by keyword, as a URL or key=value string gives
/// them (a later one wins). The password is never printed.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Params {
    values: BTreeMap<String, String>,
}

impl fmt::Debug for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: BTreeMap<&str, &str> = self
            .values
            .iter()
            .map(|(key, value)| (key.as_str(), if key == "password" { "***" } else { value.as_str() }))
            .collect();
        shown.fmt(f)
    }
}

impl Params {
    /// Parses a `postgres://` / `postgresql://` URL or a key=value string.
    pub(crate) fn parse(conninfo: &str) -> Result<Params, SettingsError> {
        match conninfo.strip_prefix("postgresql://").or_else(|| conninfo.strip_prefix("postgres://")) {
            Some(rest) => parse_url(rest),
            None => parse_key_values(conninfo),
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str).filter(|value| !value.is_empty())
    }

    fn set(&mut self, key: &str, value: String) {
        self.values.insert(key.to_owned(), value);
    }

    /// The setting, else its environment variable.
    pub(super) fn get_or_env(&self, key: &str, variable: &str, env: &dyn Environment) -> Option<String> {
        match self.get(key) {
            Some(value) => Some(value.to_owned()),
            None if variable.is_empty() => None,
            None => env.var(variable),
        }
    }

    /// The user name libpq would log in as: the setting, `PGUSER`, the OS user.
    pub(crate) fn user(&self, env: &dyn Environment) -> Option<String> {
        self.get_or_env("user", "PGUSER", env).or_else(|| env.os_user())
    }

    /// The database libpq would open: the setting, `PGDATABASE`, else the user name.
    pub(crate) fn database(&self, env: &dyn Environment) -> Option<String> {
        self.get_or_env("dbname", "PGDATABASE", env).or_else(|| self.user(env))
    }

    /// The keywords given, known to wasmig or not.
    pub(super) fn keys(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }
}

/// `postgres://[user[:password]@][host[:port][,...]][/dbname][?key=value&...]`,
/// percent-decoded as libpq does.
fn parse_url(rest: &str) -> Result<Params, SettingsError> {
    let mut params = Params::default();
    let (front, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = front.split_once('/').unwrap_or((front, ""));
    let hosts = match authority.rsplit_once('@') {
        Some((credentials, hosts)) => {
            let (user, password) = match credentials.split_once(':') {
                Some((user, password)) => (user, Some(password)),
                None => (credentials, None),
            };
            if !user.is_empty() {
                params.set("user", decode(user, "the user name")?);
            }
            if let Some(password) = password {
                params.set("password", decode(password, "the password")?);
            }
            hosts
        }
        None => authority,
    };
    if !hosts.is_empty() {
        let mut names = Vec::new();
        let mut ports = Vec::new();
        for chunk in hosts.split(',') {
            let (name, port) = if let Some(bracketed) = chunk.strip_prefix('[') {
                let (name, after) =
                    bracketed.split_once(']').ok_or_else(|| syntax(format!("host `{chunk}` misses its `]`")))?;
                match after {
                    "" => (name, ""),
                    after => (
                        name,
                        after
                            .strip_prefix(':')
                            .ok_or_else(|| syntax(format!("host `{chunk}`: expected `:port` after `]`")))?,
                    ),
                }
            } else {
                chunk.split_once(':').unwrap_or((chunk, ""))
            };
            names.push(decode(name, "a host")?);
            ports.push(decode(port, "a port")?);
        }
        if names.iter().any(|name| !name.is_empty()) {
            params.set("host", names.join(","));
        }
        if ports.iter().any(|port| !port.is_empty()) {
            params.set("port", ports.join(","));
        }
    }
    if !path.is_empty() {
        params.set("dbname", decode(path, "the database name")?);
    }
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) =
            pair.split_once('=').ok_or_else(|| syntax(format!("`{pair}` in the query is not key=value")))?;
        let key = decode(key, "a query key")?;
        let value = decode(value, "a query value")?;
        // libpq's URL parser takes JDBC's `ssl=true` for `sslmode=require`.
        if key == "ssl" && value == "true" {
            params.set("sslmode", "require".to_owned());
        } else {
            params.set(&key, value);
        }
    }
    Ok(params)
}

fn decode(text: &str, what: &str) -> Result<String, SettingsError> {
    percent_decode_str(text)
        .decode_utf8()
        .map(|decoded| decoded.into_owned())
        .map_err(|_| syntax(format!("{what} is not UTF-8 once percent-decoded")))
}

/// `key=value key='quoted \' value'`, libpq's other form.
fn parse_key_values(text: &str) -> Result<Params, SettingsError> {
    let mut params = Params::default();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| !c.is_whitespace() && *c != '=') {
            key.push(c);
        }
        if key.is_empty() {
            if chars.peek().is_some() {
                return Err(syntax("a connection setting has no name before its `=`"));
            }
            return Ok(params);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            return Err(syntax(format!("`{key}` is missing its `=value`")));
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    Some('\'') => break,
                    Some('\\') => value.extend(chars.next()),
                    Some(c) => value.push(c),
                    None => return Err(syntax(format!("the quoted value of `{key}` is not closed"))),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    value.extend(chars.next());
                } else {
                    value.push(c);
                }
            }
        }
        params.set(&key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(conninfo: &str) -> Vec<(String, String)> {
        Params::parse(conninfo).unwrap().values.into_iter().collect()
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items.iter().map(|(key, value)| ((*key).to_owned(), (*value).to_owned())).collect()
    }

    #[test]
    fn urls_become_libpq_settings() {
        assert_eq!(
            params("postgres://app:p%40ss@db.example.com:6432/shop?sslmode=verify-full&application_name=a%20b"),
            pairs(&[
                ("application_name", "a b"),
                ("dbname", "shop"),
                ("host", "db.example.com"),
                ("password", "p@ss"),
                ("port", "6432"),
                ("sslmode", "verify-full"),
                ("user", "app"),
            ])
        );
        assert_eq!(params("postgres://"), pairs(&[]));
        assert_eq!(params("postgresql:///shop"), pairs(&[("dbname", "shop")]));
        assert_eq!(
            params("postgresql://%2Fvar%2Frun%2Fpostgresql/shop"),
            pairs(&[("dbname", "shop"), ("host", "/var/run/postgresql")])
        );
        assert_eq!(
            params("postgres://a,b:5433,[::1]:5434/x"),
            pairs(&[("dbname", "x"), ("host", "a,b,::1"), ("port", ",5433,5434")])
        );
        assert_eq!(
            params("postgres://h/db?ssl=true"),
            pairs(&[("dbname", "db"), ("host", "h"), ("sslmode", "require")])
        );
        // A password holding `@` that was not percent-encoded still works.
        assert_eq!(params("postgres://u:a@b@h")[1], ("password".to_owned(), "a@b".to_owned()));
        assert!(matches!(Params::parse("postgres://h/db?nonsense"), Err(SettingsError::Syntax(_))));
    }

    #[test]
    fn key_value_strings_parse_like_libpq() {
        assert_eq!(
            params(r"host=/tmp port = 5433 password='it\'s a secret' dbname=a\ b"),
            pairs(&[("dbname", "a b"), ("host", "/tmp"), ("password", "it's a secret"), ("port", "5433")])
        );
        assert!(Params::parse("host").is_err());
        assert!(Params::parse("password='open").is_err());
        let debug = format!("{:?}", Params::parse("password=s3cret").unwrap());
        assert!(!debug.contains("s3cret"), "{debug}");
    }
}
