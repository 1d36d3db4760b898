//! What the process can see outside itself, read through [`Environment`] so that tests can give their own: environment variables (`PG*`), the home directory, the OS user and which sockets exist.

use std::path::{Path, PathBuf};

/// What the process can see outside itself.
pub(crate) trait Environment {
    /// An environment variable; unset, empty or not UTF-8 is `None`.
    fn var(&self, name: &str) -> Option<String>;
    /// The user's home directory (`~/.pgpass`, `~/.postgresql/`).
    fn home_dir(&self) -> Option<PathBuf>;
    /// The name of the operating-system user, libpq's default user name.
    fn os_user(&self) -> Option<String>;
    /// Whether a Unix socket (or any file) exists at `path`.
    fn exists(&self, path: &Path) -> bool;
}

/// The real environment of this process.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ProcessEnvironment;

impl Environment for ProcessEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|value| !value.is_empty())
    }

    fn home_dir(&self) -> Option<PathBuf> {
        if let Some(home) = self.var("HOME") {
            return Some(PathBuf::from(home));
        }
        passwd_entry().and_then(|entry| entry.home)
    }

    fn os_user(&self) -> Option<String> {
        passwd_entry().map(|entry| entry.name).or_else(|| self.var("USER")).or_else(|| self.var("LOGNAME"))
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }
}

struct PasswdEntry {
    name: String,
    home: Option<PathBuf>,
}

/// The `/etc/passwd` entry of this process's effective user (the owner of
/// `/proc/self` on Linux), as libpq's `getpwuid(geteuid())`.
#[cfg(unix)]
fn passwd_entry() -> Option<PasswdEntry> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() >= 6 && fields[2].parse::<u32>().ok() == Some(uid)).then(|| PasswdEntry {
            name: fields[0].to_owned(),
            home: Some(PathBuf::from(fields[5])).filter(|home| !home.as_os_str().is_empty()),
        })
    })
}

#[cfg(not(unix))]
fn passwd_entry() -> Option<PasswdEntry> {
    None
}

/// A made-up environment for the connection-settings tests.
#[cfg(test)]
pub(super) mod fake {
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};

    use super::Environment;

    #[derive(Default)]
    pub(in crate::backend::postgres) struct FakeEnvironment {
        vars: HashMap<&'static str, String>,
        pub(in crate::backend::postgres) home: Option<PathBuf>,
        pub(in crate::backend::postgres) user: Option<&'static str>,
        pub(in crate::backend::postgres) sockets: Vec<PathBuf>,
    }

    impl Environment for FakeEnvironment {
        fn var(&self, name: &str) -> Option<String> {
            self.vars.get(name).cloned()
        }
        fn home_dir(&self) -> Option<PathBuf> {
            self.home.clone()
        }
        fn os_user(&self) -> Option<String> {
            self.user.map(str::to_owned)
        }
        fn exists(&self, path: &Path) -> bool {
            self.sockets.iter().any(|socket| socket == path)
        }
    }

    /// An environment with these variables, the OS user `osuser`, no home and no sockets.
    pub(in crate::backend::postgres) fn env(vars: &[(&'static str, &str)]) -> FakeEnvironment {
        FakeEnvironment {
            vars: vars.iter().map(|(name, value)| (*name, (*value).to_owned())).collect(),
            user: Some("osuser"),
            ..FakeEnvironment::default()
        }
    }
}
