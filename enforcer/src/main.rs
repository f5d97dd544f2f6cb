//! `enforcer`: the command line of the tag and data-classification enforcer.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
