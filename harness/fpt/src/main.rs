//! `fpt`: the command line of the FPT reproduction harness (docs/design.md section 3).

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
