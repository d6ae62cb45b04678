use std::process::ExitCode;

use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match pipectl::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(error),
    };
    match pipectl::cli::run(cli).await {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            if !error.is::<pipectl::cli::Reported>() {
                // Causes quote brokers, APIs and files: printed as data.
                eprintln!(
                    "error: {}",
                    pipectl::escape::log_text(&format!("{error:#}"))
                );
            }
            ExitCode::from(1)
        }
    }
}

/// clap exits 2 on a usage error, but `plan --detailed-exitcode` and `drift` say "changes" or
/// "drifted" with 2: a mistyped flag must not page the on-call or send a CI job on to apply.
/// Usage errors exit 1; `--help` and `--version` still exit 0.
fn usage_error(error: clap::Error) -> ExitCode {
    let _ = error.print();
    if error.use_stderr() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
