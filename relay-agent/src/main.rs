//! `relay-agent` binary: see [`relay_agent::cli`].

fn main() -> std::process::ExitCode {
    relay_agent::cli::main()
}
