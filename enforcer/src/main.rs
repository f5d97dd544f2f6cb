//! `enforcer`: the command line of the tag and data-classification enforcer.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(cli::EXIT_BAD_INPUT)
        }
    }
}
