//! The TLS settings as libpq reads them: `sslmode` ([`SslMode`]), `sslrootcert` ([`RootCertificates`]), `sslcert`, `sslkey` and `sslsni`, with `~/.postgresql/` for what is not given ([`SslSettings`]).

use std::path::PathBuf;

use super::environment::Environment;
use super::params::Params;
use super::settings_error::{SettingsError, syntax};

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SslMode {
    /// Plain only.
    Disable,
    /// Plain first; TLS (unverified) if the server refuses a plain connection.
    Allow,
    /// TLS if the server offers it, else plain; plain again if TLS fails.
    Prefer,
    /// TLS, unverified unless a root certificate file is there.
    Require,
    /// TLS, the certificate chained to a trusted root; any host name.
    VerifyCa,
    /// TLS, chained to a trusted root and issued for the host.
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<SslMode, SettingsError> {
        Ok(match value {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(syntax(format!(
                    "sslmode `{other}` is not one of disable, allow, prefer, require, verify-ca, verify-full"
                )));
            }
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// Where the trusted roots come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RootCertificates {
    /// `sslrootcert=path`: PEM certificates in a file.
    File(PathBuf),
    /// `sslrootcert=system`: the operating system's store.
    System,
    /// Not given: `~/.postgresql/root.crt`, used when it exists.
    Default(Option<PathBuf>),
}

/// The TLS settings: libpq's `sslmode`, `sslrootcert`, `sslcert`, `sslkey` and `sslsni`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SslSettings {
    pub(crate) mode: SslMode,
    pub(crate) roots: RootCertificates,
    /// The client certificate and its key: given, else `~/.postgresql/postgresql.crt` and `.key`.
    pub(crate) certificate: Option<PathBuf>,
    pub(crate) certificate_given: bool,
    pub(crate) key: Option<PathBuf>,
    /// Send the host name in the handshake (SNI).
    pub(crate) sni: bool,
}

impl SslSettings {
    pub(super) fn resolve(params: &Params, env: &dyn Environment) -> Result<SslSettings, SettingsError> {
        let postgresql_dir = env.home_dir().map(|home| home.join(".postgresql"));
        let roots = match params.get_or_env("sslrootcert", "PGSSLROOTCERT", env) {
            Some(system) if system == "system" => RootCertificates::System,
            Some(path) => RootCertificates::File(PathBuf::from(path)),
            None => RootCertificates::Default(postgresql_dir.as_ref().map(|dir| dir.join("root.crt"))),
        };
        let mode = match params.get_or_env("sslmode", "PGSSLMODE", env) {
            Some(mode) => SslMode::parse(&mode)?,
            // libpq 16: the system's roots are for verifying host names.
            None if roots == RootCertificates::System => SslMode::VerifyFull,
            None => SslMode::Prefer,
        };
        if roots == RootCertificates::System && mode != SslMode::VerifyFull {
            return Err(SettingsError::Unusable(format!(
                "weak sslmode `{}` may not be used with sslrootcert=system (use sslmode=verify-full)",
                mode.name()
            )));
        }
        let explicit_certificate = params.get_or_env("sslcert", "PGSSLCERT", env).map(PathBuf::from);
        let certificate_given = explicit_certificate.is_some();
        let certificate =
            explicit_certificate.or_else(|| postgresql_dir.as_ref().map(|dir| dir.join("postgresql.crt")));
        let key = params
            .get_or_env("sslkey", "PGSSLKEY", env)
            .map(PathBuf::from)
            .or_else(|| postgresql_dir.as_ref().map(|dir| dir.join("postgresql.key")));
        let sni = match params.get_or_env("sslsni", "PGSSLSNI", env).as_deref() {
            None | Some("1") => true,
            Some("0") => false,
            Some(other) => return Err(syntax(format!("sslsni `{other}` is not 0 or 1"))),
        };
        Ok(SslSettings { mode, roots, certificate, certificate_given, key, sni })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::postgres::environment::fake::{FakeEnvironment, env};
    use crate::backend::postgres::settings::Settings;

    fn resolve(conninfo: &str, env: &FakeEnvironment) -> Settings {
        Params::parse(conninfo).unwrap().resolve(env).unwrap()
    }

    #[test]
    fn ssl_settings_follow_libpq() {
        let mut environment = env(&[]);
        environment.home = Some(PathBuf::from("/home/me"));
        let plain = resolve("postgres://h", &environment).ssl;
        assert_eq!(plain.roots, RootCertificates::Default(Some("/home/me/.postgresql/root.crt".into())));
        assert_eq!(plain.certificate, Some(PathBuf::from("/home/me/.postgresql/postgresql.crt")));
        assert!(!plain.certificate_given && plain.sni);

        let system = resolve("postgres://h?sslrootcert=system", &environment).ssl;
        assert_eq!((system.mode, system.roots), (SslMode::VerifyFull, RootCertificates::System));
        let weak = Params::parse("postgres://h?sslrootcert=system&sslmode=require").unwrap().resolve(&environment);
        assert!(
            matches!(weak, Err(SettingsError::Unusable(ref message)) if message.contains("verify-full")),
            "{weak:?}"
        );

        let file = resolve("postgres://h?sslmode=verify-ca&sslrootcert=/ca.pem&sslsni=0", &environment).ssl;
        assert_eq!(
            (file.mode, file.roots, file.sni),
            (SslMode::VerifyCa, RootCertificates::File("/ca.pem".into()), false)
        );
        let from_env = resolve("postgres://h", &env(&[("PGSSLMODE", "verify-full"), ("PGSSLROOTCERT", "/r.pem")])).ssl;
        assert_eq!((from_env.mode, from_env.roots), (SslMode::VerifyFull, RootCertificates::File("/r.pem".into())));

        for wrong in ["postgres://h?sslmode=verify", "postgres://h?sslsni=yes", "postgres://h?gssencmode=disable"] {
            assert!(
                matches!(Params::parse(wrong).unwrap().resolve(&environment), Err(SettingsError::Syntax(_))),
                "{wrong}"
            );
        }
    }
}
