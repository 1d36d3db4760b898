//! The tenant service over real sockets: a tenant whose migration fails is refused with 503 while the others are served, and a restart after the fix serves it too.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;

use tenant_service::{Service, TenantState, start};

fn project() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Starts serving on a free port of 127.0.0.1; the thread ends with the test process.
fn listen(service: Service) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let service = Arc::new(service);
    std::thread::spawn(move || service.serve(listener));
    address
}

fn get(address: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split_whitespace().nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default();
    (status, body)
}

#[test]
fn a_tenant_whose_migration_failed_is_refused_while_the_others_are_served() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["acme", "globex", "initech"] {
        std::fs::write(dir.path().join(format!("{name}.db")), "").unwrap();
    }
    // globex already has a `notes` table of another shape: its first revision fails.
    let globex = dir.path().join("globex.db");
    let conflict = wasmig::Database::connect(&format!("sqlite:{}", globex.display()))
        .unwrap()
        .execute_script("CREATE TABLE notes (text TEXT)");
    conflict.unwrap();
    let source = format!("sqlite:{}/*.db", dir.path().display());

    let service = start(project(), &source, 2).unwrap();
    assert!(matches!(service.state("acme"), Some(TenantState::Serving { .. })));
    assert!(
        matches!(service.state("globex"), Some(TenantState::Refused { error }) if error.contains("notes")),
        "{:?}",
        service.state("globex")
    );
    let address = listen(service);
    assert_eq!(get(address, "/acme/notes"), (200, "welcome\n".to_owned()));
    assert_eq!(get(address, "/initech/notes"), (200, "welcome\n".to_owned()));
    let (status, body) = get(address, "/globex/notes");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("migration failed") && body.contains("already exists"), "{body}");
    assert_eq!(get(address, "/hooli/notes").0, 404);

    // The operator fixes globex; a restart migrates it and serves it.
    wasmig::Database::connect(&format!("sqlite:{}", globex.display()))
        .unwrap()
        .execute_script("DROP TABLE notes")
        .unwrap();
    let restarted = start(project(), &source, 2).unwrap();
    let applied: Vec<(String, usize)> =
        restarted.report().tenants.iter().map(|tenant| (tenant.tenant.clone(), tenant.revisions.len())).collect();
    assert_eq!(applied, [("acme".to_owned(), 0), ("globex".to_owned(), 2), ("initech".to_owned(), 0)]);
    let address = listen(restarted);
    assert_eq!(get(address, "/globex/notes"), (200, "welcome\n".to_owned()));
}
