use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = pipectl::cli::Cli::parse();
    match pipectl::cli::run(cli).await {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            if !error.is::<pipectl::cli::Reported>() {
                eprintln!("error: {error:#}");
            }
            ExitCode::from(1)
        }
    }
}
