//! TLS for PostgreSQL connections: rustls (with the `ring` provider) configured as libpq's `sslmode`, `sslrootcert`, `sslcert`, `sslkey` and `sslsni` ask, and errors that name the setting to change.

use std::error::Error as StdError;
use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::Socket;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::ssl_settings::{RootCertificates, SslMode, SslSettings};

/// What the server's certificate is checked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// Nothing (`require` without a root certificate): encryption only.
    Nothing,
    /// Signed by a trusted root (`verify-ca`, or `require` with roots).
    Chain,
    /// Signed by a trusted root and issued for the host (`verify-full`).
    ChainAndName,
}

/// The TLS side of a connection's settings, built once per database URL
/// and shared by all its connections (the backend's, the lock's, cancel requests).
#[derive(Clone)]
pub(super) struct Tls {
    connect: MakeRustlsConnect,
    check: Check,
    /// Where the roots came from, for messages.
    roots: String,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls").field("check", &self.check).field("roots", &self.roots).finish_non_exhaustive()
    }
}

impl Tls {
    /// Loads the roots and the client certificate the settings name.
    /// Errors name the setting and the file.
    pub(super) fn new(settings: &SslSettings) -> Result<Tls, String> {
        // rustls 0.23.48 deprecates its ring provider for lacking post-quantum
        // key exchange (aws-lc-rs has it, but needs cmake and builds for
        // minutes); ring's X25519/P-256/P-384 are what libpq's OpenSSL offers
        // by default before OpenSSL 3.5.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let (roots, description) = load_roots(settings)?;
        let check = match (settings.mode, &roots) {
            (SslMode::VerifyFull, _) => Check::ChainAndName,
            (SslMode::VerifyCa, _) => Check::Chain,
            // libpq: with a root certificate file, require (and allow, prefer) verify the chain.
            (_, Some(_)) => Check::Chain,
            (_, None) => Check::Nothing,
        };
        let verifier =
            Verifier { check, roots: roots.map(Arc::new), algorithms: provider.signature_verification_algorithms };
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|error| format!("cannot set TLS up: {error}"))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier));
        let mut config = match load_client_certificate(settings)? {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain, key)
                .map_err(|error| format!("sslcert/sslkey: the client certificate cannot be used: {error}"))?,
            None => builder.with_no_client_auth(),
        };
        config.enable_sni = settings.sni;
        // PostgreSQL 17 requires it for `sslnegotiation=direct`; older servers ignore it.
        config.alpn_protocols = vec![b"postgresql".to_vec()];
        Ok(Tls { connect: MakeRustlsConnect::new(config), check, roots: description })
    }

    /// A connector for one connection attempt, noting whether the server
    /// agreed to TLS (`sslmode=prefer` falls back to plain only then).
    pub(super) fn connector(&self) -> (Connector, Arc<AtomicBool>) {
        let started = Arc::new(AtomicBool::new(false));
        (Connector { inner: self.connect.clone(), started: started.clone() }, started)
    }

    /// Explains a failed TLS handshake: what was checked, what was wrong and
    /// which setting changes it. `None` when `error` is no certificate problem.
    pub(super) fn explain(&self, mode: SslMode, host: &str, error: &(dyn StdError + 'static)) -> Option<String> {
        let certificate = find_rustls_error(error).and_then(|error| match error {
            rustls::Error::InvalidCertificate(certificate) => Some(certificate),
            _ => None,
        })?;
        let mode = mode.name();
        let roots = &self.roots;
        Some(match certificate {
            CertificateError::UnknownIssuer => format!(
                "sslmode={mode}: the server certificate is not signed by a root in {roots}: \
                 give the certificate of the CA that signed it with sslrootcert=<file> (or sslrootcert=system for \
                 a public CA), or use sslmode=require to encrypt without verifying"
            ),
            CertificateError::NotValidForNameContext { expected, presented } => {
                let presented = if presented.is_empty() {
                    "no host name".to_owned()
                } else {
                    presented.iter().map(|name| presented_name(name)).collect::<Vec<_>>().join(", ")
                };
                format!(
                    "sslmode=verify-full: the server certificate is for {presented}, not {}: connect with a host \
                     name the certificate names (hostaddr=<ip> can keep the address), or use sslmode=verify-ca to \
                     skip the host name check",
                    expected.to_str()
                )
            }
            CertificateError::NotValidForName => format!(
                "sslmode=verify-full: the server certificate is not for {host}: connect with a host name the \
                 certificate names, or use sslmode=verify-ca to skip the host name check"
            ),
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                format!("sslmode={mode}: the server certificate has expired ({certificate})")
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                format!("sslmode={mode}: the server certificate is not valid yet ({certificate}): check the clocks")
            }
            other => format!("sslmode={mode}: the server certificate was refused: {other}"),
        })
    }
}

/// A name the certificate presents, as rustls reports it (`DnsName("db")`,
/// `IpAddress(10.0.0.5)`), without the wrapping.
fn presented_name(name: &str) -> &str {
    name.strip_prefix("DnsName(\"")
        .and_then(|rest| rest.strip_suffix("\")"))
        .or_else(|| name.strip_prefix("IpAddress(").and_then(|rest| rest.strip_suffix(')')))
        .unwrap_or(name)
}

/// The rustls error inside a tokio-postgres TLS error (which holds it in an `io::Error`).
fn find_rustls_error<'e>(error: &'e (dyn StdError + 'static)) -> Option<&'e rustls::Error> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(found) = error.downcast_ref::<rustls::Error>() {
            return Some(found);
        }
        if let Some(io) = error.downcast_ref::<std::io::Error>()
            && let Some(found) = io.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(found);
        }
        current = error.source();
    }
    None
}

/// The trusted roots and how messages name them; `None` when no roots apply.
fn load_roots(settings: &SslSettings) -> Result<(Option<RootCertStore>, String), String> {
    let needs_roots = matches!(settings.mode, SslMode::VerifyCa | SslMode::VerifyFull);
    match &settings.roots {
        RootCertificates::File(path) => {
            Ok((Some(roots_from_file(path, "sslrootcert")?), format!("sslrootcert {}", path.display())))
        }
        RootCertificates::System => Ok((
            Some(system_roots()?.as_ref().clone()),
            "the operating system's trusted roots (sslrootcert=system)".to_owned(),
        )),
        RootCertificates::Default(Some(path)) if path.exists() => {
            Ok((Some(roots_from_file(path, "the default root certificate file")?), path.display().to_string()))
        }
        RootCertificates::Default(path) if needs_roots => Err(format!(
            "sslmode={}: the root certificate file {} does not exist: give the CA's certificate with \
             sslrootcert=<file> (or PGSSLROOTCERT), use the system's trusted roots with sslrootcert=system, or use \
             sslmode=require to encrypt without verifying",
            settings.mode.name(),
            path.as_ref().map_or("~/.postgresql/root.crt".to_owned(), |path| path.display().to_string())
        )),
        RootCertificates::Default(_) => Ok((None, "no root certificate file".to_owned())),
    }
}

/// The operating system's trusted roots, read once per process (a fleet
/// connects to many databases).
fn system_roots() -> Result<Arc<RootCertStore>, String> {
    static SYSTEM: OnceLock<Result<Arc<RootCertStore>, String>> = OnceLock::new();
    SYSTEM
        .get_or_init(|| {
            let found = rustls_native_certs::load_native_certs();
            let mut store = RootCertStore::empty();
            let (added, _ignored) = store.add_parsable_certificates(found.certs);
            if added == 0 {
                let errors: Vec<String> = found.errors.iter().map(ToString::to_string).collect();
                return Err(format!(
                    "sslrootcert=system: no trusted roots found in the operating system's store{}: install the CA \
                     certificates (e.g. the ca-certificates package), set SSL_CERT_FILE, or give a file with \
                     sslrootcert=<file>",
                    if errors.is_empty() { String::new() } else { format!(" ({})", errors.join("; ")) }
                ));
            }
            Ok(Arc::new(store))
        })
        .clone()
}

fn roots_from_file(path: &Path, setting: &str) -> Result<RootCertStore, String> {
    let certificates = read_certificates(path, setting)?;
    let mut store = RootCertStore::empty();
    for certificate in certificates {
        store
            .add(certificate)
            .map_err(|error| format!("{setting} {}: a certificate in it cannot be used: {error}", path.display()))?;
    }
    Ok(store)
}

fn read_certificates(path: &Path, setting: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let bytes = std::fs::read(path).map_err(|error| format!("{setting}: cannot read {}: {error}", path.display()))?;
    let certificates = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| format!("{setting} {}: not a PEM certificate file: {error}", path.display()))?;
    if certificates.is_empty() {
        return Err(format!("{setting} {}: holds no PEM certificate (-----BEGIN CERTIFICATE-----)", path.display()));
    }
    Ok(certificates)
}

/// The client certificate chain and key, as libpq finds them: the given
/// `sslcert`, else `~/.postgresql/postgresql.crt` if it exists; a
/// certificate needs its key, which others must not be able to read.
fn load_client_certificate(
    settings: &SslSettings,
) -> Result<Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>, String> {
    let Some(certificate) = settings.certificate.as_deref().filter(|path| path.exists()) else {
        if let (true, Some(path)) = (settings.certificate_given, &settings.certificate) {
            return Err(format!("sslcert: the client certificate {} does not exist", path.display()));
        }
        return Ok(None);
    };
    let chain = read_certificates(certificate, "sslcert")?;
    let Some(key) = settings.key.as_deref() else {
        return Err(format!("sslcert {} is given but no sslkey", certificate.display()));
    };
    let metadata = std::fs::metadata(key).map_err(|error| {
        format!(
            "sslkey: the private key {} of the client certificate {} cannot be read: {error}",
            key.display(),
            certificate.display()
        )
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let mode = metadata.permissions().mode();
        let allowed = if metadata.uid() == 0 { 0o640 } else { 0o600 };
        if mode & 0o777 & !allowed != 0 {
            return Err(format!(
                "sslkey: the private key file {} has group or world access; it must have permissions u=rw (0600) \
                 or less if owned by the current user, or u=rw,g=r (0640) or less if owned by root",
                key.display()
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = metadata;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|error| format!("sslkey {}: not a PEM private key: {error}", key.display()))?;
    Ok(Some((chain, key)))
}

/// Checks the server certificate as [`Check`] says; handshake signatures
/// are always verified.
#[derive(Debug)]
struct Verifier {
    check: Check,
    roots: Option<Arc<RootCertStore>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.check == Check::Nothing {
            return Ok(ServerCertVerified::assertion());
        }
        let roots = self.roots.as_deref().ok_or(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer))?;
        let certificate = ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            &certificate,
            roots,
            intermediates,
            now,
            self.algorithms.all,
        )?;
        if self.check == Check::ChainAndName {
            rustls::client::verify_server_name(&certificate, server_name)?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The connector tokio-postgres is given: rustls (with channel binding, by
/// tokio-postgres-rustls), noting when a handshake starts.
#[derive(Clone)]
pub(super) struct Connector {
    inner: MakeRustlsConnect,
    started: Arc<AtomicBool>,
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector").finish_non_exhaustive()
    }
}

/// The TLS stream of a connection.
pub(super) type TlsStream = <MakeRustlsConnect as MakeTlsConnect<Socket>>::Stream;

impl MakeTlsConnect<Socket> for Connector {
    type Stream = TlsStream;
    type TlsConnect = Handshake<<MakeRustlsConnect as MakeTlsConnect<Socket>>::TlsConnect>;
    type Error = <MakeRustlsConnect as MakeTlsConnect<Socket>>::Error;

    fn make_tls_connect(&mut self, domain: &str) -> Result<Self::TlsConnect, Self::Error> {
        let inner = <MakeRustlsConnect as MakeTlsConnect<Socket>>::make_tls_connect(&mut self.inner, domain)?;
        Ok(Handshake { inner, started: self.started.clone() })
    }
}

/// One handshake: tokio-postgres calls `connect` once the server agreed to TLS.
pub(super) struct Handshake<T> {
    inner: T,
    started: Arc<AtomicBool>,
}

impl<T: TlsConnect<Socket>> TlsConnect<Socket> for Handshake<T> {
    type Stream = T::Stream;
    type Error = T::Error;
    type Future = T::Future;

    fn connect(self, stream: Socket) -> Self::Future {
        self.started.store(true, Ordering::SeqCst);
        self.inner.connect(stream)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presented_names_lose_their_wrapping() {
        assert_eq!(presented_name("DnsName(\"db.internal\")"), "db.internal");
        assert_eq!(presented_name("IpAddress(10.0.0.5)"), "10.0.0.5");
        assert_eq!(presented_name("DirectoryName"), "DirectoryName");
    }
}
