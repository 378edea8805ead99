//! `relay-broker` binary: see [`relay_broker::cli`].

fn main() -> std::process::ExitCode {
    relay_broker::cli::main()
}
