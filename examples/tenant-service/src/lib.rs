//! wasmig-example-tenant-service: a multi-tenant service that migrates every tenant at start-up with [`wasmig::Fleet`], then serves the tenants that reached heads and refuses, with 503, each tenant whose migration failed.
//!
//! One failing tenant must not take the others down: the fleet isolates
//! failures per tenant, and the service keeps the fleet's verdict per tenant
//! ([`TenantState`]) instead of refusing to start. A restart runs the fleet
//! again, which picks up each tenant where it stopped.
//!
//! HTTP is deliberately minimal (std's `TcpListener`, one request per
//! connection): `GET /<tenant>/notes` lists that tenant's notes.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;

use wasmig::graph::Target;
use wasmig::sql::Value;
use wasmig::{Database, Fleet, FleetAction, FleetEvent, FleetReport, Migrator, TenantOutcome, TenantSource};

/// What the service knows about a tenant after the start-up migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantState {
    /// Migrated to the project's heads: requests are served.
    Serving { url: String },
    /// Its migration failed: requests get 503 with the reason, until a restart migrates it.
    Refused { error: String },
}

/// A plain-text HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

/// The running service: every tenant's state, fixed at start-up.
#[derive(Debug)]
pub struct Service {
    tenants: BTreeMap<String, TenantState>,
    report: FleetReport,
}

/// Migrates every tenant of `source` (see `wasmig tenants --tenants`) to the
/// heads of the project in `project_dir`, `jobs` tenants at a time, and
/// returns the service ready to serve those that made it.
///
/// `Err` means the service cannot start at all (the project, the engine, the
/// tenant list), as opposed to one tenant failing: [`wasmig::Error::kind`] says which.
pub fn start(project_dir: &Path, source: &str, jobs: usize) -> Result<Service, wasmig::Error> {
    let migrator = Migrator::open(project_dir)?;
    let tenants = TenantSource::parse(source)?.tenants()?;
    let urls: BTreeMap<String, String> =
        tenants.iter().map(|tenant| (tenant.name.clone(), tenant.url.clone())).collect();
    let fleet = Fleet::new(migrator).jobs(jobs);
    let log = |event: FleetEvent| {
        if let FleetEvent::Finished(tenant) = event {
            match &tenant.error {
                Some(error) => eprintln!("tenant {}: migration failed, refusing it: {error}", tenant.tenant),
                None => eprintln!("tenant {}: ready ({} revision(s) applied)", tenant.tenant, tenant.revisions.len()),
            }
        }
    };
    let report = fleet.run(tenants, &FleetAction::Upgrade(Target::Heads), &log);
    let tenants = report
        .tenants
        .iter()
        .map(|tenant| {
            let state = match tenant.outcome {
                TenantOutcome::Ok => TenantState::Serving { url: urls[&tenant.tenant].clone() },
                _ => TenantState::Refused { error: tenant.error.clone().unwrap_or_else(|| "not migrated".to_owned()) },
            };
            (tenant.tenant.clone(), state)
        })
        .collect();
    Ok(Service { tenants, report })
}

impl Service {
    pub fn state(&self, tenant: &str) -> Option<&TenantState> {
        self.tenants.get(tenant)
    }

    /// The start-up fleet run, per tenant.
    pub fn report(&self) -> &FleetReport {
        &self.report
    }

    /// `GET /<tenant>/notes`: the tenant's notes, one a line.
    pub fn handle(&self, path: &str) -> Response {
        let mut parts = path.trim_start_matches('/').splitn(2, '/');
        let (tenant, resource) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
        let url = match self.tenants.get(tenant) {
            None => return Response { status: 404, body: format!("no tenant `{tenant}`\n") },
            Some(TenantState::Refused { error }) => {
                return Response {
                    status: 503,
                    body: format!("tenant `{tenant}` is unavailable: its migration failed: {error}\n"),
                };
            }
            Some(TenantState::Serving { url }) => url,
        };
        if resource != "notes" {
            return Response { status: 404, body: format!("no resource `{resource}`; try /{tenant}/notes\n") };
        }
        let notes = Database::connect(url).map_err(|error| error.to_string()).and_then(|mut database| {
            database.query("SELECT body FROM notes ORDER BY id", &[]).map_err(|error| error.to_string())
        });
        match notes {
            Ok(rows) => Response {
                status: 200,
                body: rows
                    .values
                    .iter()
                    .map(|row| match row.first() {
                        Some(Value::Text(body)) => format!("{body}\n"),
                        other => format!("{other:?}\n"),
                    })
                    .collect(),
            },
            Err(error) => Response { status: 500, body: format!("reading the notes of `{tenant}` failed: {error}\n") },
        }
    }

    /// Serves requests forever, one connection at a time.
    pub fn serve(&self, listener: TcpListener) -> io::Result<()> {
        for stream in listener.incoming() {
            if let Err(error) = self.answer(stream?) {
                eprintln!("a request failed: {error}");
            }
        }
        Ok(())
    }

    fn answer(&self, stream: TcpStream) -> io::Result<()> {
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut request_line = String::new();
        reader.read_line(&mut request_line)?;
        // Headers are read and ignored: the path names the tenant.
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
                break;
            }
        }
        let mut words = request_line.split_whitespace();
        let response = match (words.next(), words.next()) {
            (Some("GET"), Some(path)) => self.handle(path),
            _ => Response { status: 405, body: "only GET /<tenant>/notes\n".to_owned() },
        };
        let reason = match response.status {
            200 => "OK",
            404 => "Not Found",
            405 => "Method Not Allowed",
            503 => "Service Unavailable",
            _ => "Internal Server Error",
        };
        let mut stream = stream;
        write!(
            stream,
            "HTTP/1.1 {} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
            response.status,
            response.body.len(),
            response.body
        )?;
        stream.flush()
    }
}
