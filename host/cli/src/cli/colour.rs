//! Whether output may carry colour: only on a terminal, and never with `NO_COLOR` set (<https://no-color.org>).

use std::io::IsTerminal as _;

/// `NO_COLOR` set to anything but the empty string turns colour off everywhere.
fn refused_by_environment() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty())
}

/// Whether what goes to stderr (log lines) may be coloured.
pub fn on_stderr() -> bool {
    !refused_by_environment() && std::io::stderr().is_terminal()
}

/// clap's own colour (help, usage errors): it checks each stream for a
/// terminal itself; `NO_COLOR` is said explicitly rather than left to it.
pub fn for_clap() -> clap::ColorChoice {
    if refused_by_environment() { clap::ColorChoice::Never } else { clap::ColorChoice::Auto }
}
