//! The password file (`~/.pgpass`, or `passfile`/`PGPASSFILE`) as libpq reads it: [`PassFile`], its entries and how a host, port, database and user match one.

use std::path::Path;

/// The entries of a password file (`~/.pgpass`):
/// `hostname:port:database:username:password`, `*` matching anything, `\`
/// escaping `:` and `\`, `#` starting a comment line.
#[derive(Debug)]
pub(crate) struct PassFile {
    lines: Vec<String>,
}

impl PassFile {
    /// Reads the file; `None` when it does not exist, is not a plain file, or
    /// can be read by others than its owner (then with a warning, as libpq).
    pub(crate) fn read(path: &Path) -> Option<PassFile> {
        let metadata = std::fs::metadata(path).ok()?;
        if !metadata.is_file() {
            tracing::warn!("password file \"{}\" is not a plain file: ignored", path.display());
            return None;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if metadata.permissions().mode() & 0o077 != 0 {
                tracing::warn!(
                    "password file \"{}\" has group or world access; permissions should be u=rw (0600) or less: ignored",
                    path.display()
                );
                return None;
            }
        }
        let bytes = std::fs::read(path).ok()?;
        Some(PassFile::parse(&String::from_utf8_lossy(&bytes)))
    }

    pub(crate) fn parse(text: &str) -> PassFile {
        let lines = text
            .lines()
            .map(|line| line.trim_end_matches('\r'))
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(str::to_owned)
            .collect();
        PassFile { lines }
    }

    /// The password of the first entry matching all four fields.
    pub(crate) fn lookup(&self, host: &str, port: &str, database: &str, user: &str) -> Option<String> {
        self.lines.iter().find_map(|line| {
            let rest = match_field(line, host)?;
            let rest = match_field(rest, port)?;
            let rest = match_field(rest, database)?;
            let rest = match_field(rest, user)?;
            // The password runs to the next unescaped `:` (or the end).
            let mut password = String::new();
            let mut chars = rest.chars();
            while let Some(c) = chars.next() {
                match c {
                    ':' => break,
                    '\\' => password.extend(chars.next()),
                    c => password.push(c),
                }
            }
            Some(password)
        })
    }
}

/// libpq's `pwdfMatchesString`: the rest of `line` after its first field if
/// that field is `*` or equals `value` (with `\` escapes).
fn match_field<'l>(line: &'l str, value: &str) -> Option<&'l str> {
    if let Some(rest) = line.strip_prefix("*:") {
        return Some(rest);
    }
    let mut expected = value.chars();
    let mut chars = line.char_indices();
    while let Some((index, c)) = chars.next() {
        let (c, escaped) = match c {
            '\\' => match chars.next() {
                Some((_, next)) => (next, true),
                None => return None,
            },
            c => (c, false),
        };
        if c == ':' && !escaped {
            return expected.next().is_none().then(|| &line[index + 1..]);
        }
        if expected.next() != Some(c) {
            return None;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_files_match_like_libpq() {
        let file = PassFile::parse(
            "# comment\n\
             db.example.com:5432:shop:app:first\n\
             db.example.com:*:*:app:second\n\
             we\\:ird:5432:*:*:esc\\:aped\\\\pw:trailing\n\
             *:*:*:*:any\r\n",
        );
        assert_eq!(file.lookup("db.example.com", "5432", "shop", "app").as_deref(), Some("first"));
        assert_eq!(file.lookup("db.example.com", "6432", "other", "app").as_deref(), Some("second"));
        assert_eq!(file.lookup("we:ird", "5432", "x", "y").as_deref(), Some("esc:aped\\pw"));
        assert_eq!(file.lookup("elsewhere", "1", "d", "u").as_deref(), Some("any"));
        assert_eq!(PassFile::parse("h:5432:d:u:pw").lookup("h", "5432", "d", "other"), None);
        // A field must match whole, not as a prefix.
        assert_eq!(PassFile::parse("host:5432:d:u:pw").lookup("hostname", "5432", "d", "u"), None);
    }
}
