//! The tenant service's binary: `tenant-service --tenants SOURCE [--listen ADDR] [--jobs N]`.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut tenants = None;
    let mut listen = "127.0.0.1:8080".to_owned();
    let mut jobs = 4;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--tenants", Some(value)) => tenants = Some(value),
            ("--listen", Some(value)) => listen = value,
            ("--jobs", Some(value)) if value.parse::<usize>().is_ok_and(|jobs| jobs > 0) => {
                jobs = value.parse().unwrap_or(1)
            }
            _ => {
                eprintln!("usage: tenant-service --tenants SOURCE [--listen 127.0.0.1:8080] [--jobs N]");
                return ExitCode::from(2);
            }
        }
    }
    let Some(tenants) = tenants else {
        eprintln!("usage: tenant-service --tenants SOURCE [--listen 127.0.0.1:8080] [--jobs N]");
        return ExitCode::from(2);
    };
    // The migrations ship with the service.
    let project = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let service = match tenant_service::start(&project, &tenants, jobs) {
        Ok(service) => service,
        Err(error) => {
            eprintln!("tenant-service cannot start: {error}");
            return ExitCode::from(1);
        }
    };
    let listener = match TcpListener::bind(&listen) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("cannot listen on {listen}: {error}");
            return ExitCode::from(1);
        }
    };
    eprintln!(
        "serving {} tenant(s) on http://{listen}/<tenant>/notes",
        service.report().count(wasmig::TenantOutcome::Ok)
    );
    match service.serve(listener) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tenant-service stopped: {error}");
            ExitCode::from(1)
        }
    }
}
