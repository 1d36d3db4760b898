//! A deliberately small HTTP/1.1 server on std's `TcpListener`: a router of GET handlers, one request per connection, one thread.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::events::{Event, StartupLog};
use crate::store::Store;

/// What a client asked for: the path and the query string, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub path: String,
    pub query: Option<String>,
}

impl Request {
    /// The value of `name` in the query string (`?name=value&...`), undecoded.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query.as_deref()?.split('&').find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
    }
}

/// A plain-text response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

impl Response {
    pub fn ok(body: impl Into<String>) -> Self {
        Response { status: 200, body: body.into() }
    }

    pub fn error(status: u16, body: impl Into<String>) -> Self {
        Response { status, body: body.into() }
    }
}

/// A request handler; it gets the app's tables.
pub type Handler = Box<dyn Fn(&Request, &mut Store) -> Response + Send>;

/// The handlers of the app, by exact path.
pub struct Router {
    routes: Vec<(&'static str, Handler)>,
    log: StartupLog,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.routes.iter().map(|(path, _)| path)).finish()
    }
}

impl Router {
    pub fn new(log: StartupLog) -> Self {
        Router { routes: Vec::new(), log }
    }

    pub fn register(&mut self, path: &'static str, handler: Handler) {
        self.log.record(Event::HandlerRegistered(path));
        self.routes.push((path, handler));
    }

    fn dispatch(&self, method: &str, request: &Request, store: &mut Store) -> Response {
        if method != "GET" {
            return Response::error(405, "only GET is served here\n");
        }
        match self.routes.iter().find(|(path, _)| *path == request.path) {
            Some((_, handler)) => handler(request, store),
            None => Response::error(404, format!("no handler for {}\n", request.path)),
        }
    }
}

/// The serving thread; [`Server::shutdown`] (or dropping it) stops it.
#[derive(Debug)]
pub struct Server {
    address: SocketAddr,
    stopping: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Serves `listener` on a new thread until shut down.
    pub fn spawn(listener: TcpListener, router: Router, mut store: Store, log: StartupLog) -> io::Result<Server> {
        let address = listener.local_addr()?;
        let stopping = Arc::new(AtomicBool::new(false));
        let stop_seen = Arc::clone(&stopping);
        let thread = std::thread::Builder::new().name("gated-app-http".into()).spawn(move || {
            for connection in listener.incoming() {
                if stop_seen.load(Ordering::SeqCst) {
                    break;
                }
                // One bad client must not stop the server: its error ends only its connection.
                if let Ok(stream) = connection {
                    let _ = answer(stream, &router, &mut store, &log);
                }
            }
        })?;
        Ok(Server { address, stopping, thread: Some(thread) })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Blocks until the server stops (it stops only on shutdown).
    pub fn wait(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    /// Stops accepting and waits for the serving thread.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let Some(thread) = self.thread.take() else { return };
        self.stopping.store(true, Ordering::SeqCst);
        // `accept` has no timeout: a connection of our own wakes it to see the flag.
        let _ = TcpStream::connect_timeout(&self.address, Duration::from_secs(1));
        let _ = thread.join();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn answer(stream: TcpStream, router: &Router, store: &mut Store, log: &StartupLog) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // The headers are read and ignored: no handler needs them.
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim_end().is_empty() {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return write_response(stream, &Response::error(400, "malformed request line\n"));
    };
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query.to_owned())),
        None => (target, None),
    };
    let request = Request { path: path.to_owned(), query };
    let response = router.dispatch(method, &request, store);
    log.record(Event::Served { path: request.path.clone(), status: response.status });
    write_response(stream, &response)
}

fn write_response(mut stream: TcpStream, response: &Response) -> io::Result<()> {
    let reason = match response.status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Internal Server Error",
    };
    write!(
        stream,
        "HTTP/1.1 {} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        response.status,
        response.body.len(),
        response.body
    )?;
    stream.flush()
}
