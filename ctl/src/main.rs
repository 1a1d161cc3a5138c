//! `commaware-ctl`: see `commaware-ctl --help` and the crate documentation.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use commaware_ctl::cli::Cli;
use commaware_ctl::commands::{self, Io};
use commaware_ctl::names::Xenstore;
use commaware_ctl::privcmd::Privcmd;
use commaware_ctl::Result;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("commaware-ctl: {e}");
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(1))
        }
    }
}

fn run(cli: &Cli) -> Result<()> {
    let cmd = cli.command()?;
    let mut xen = Privcmd::open()?;
    let mut names = Xenstore::connect();
    let stdout = std::io::stdout();
    let clear = stdout.is_terminal();
    let mut out = stdout.lock();
    let mut sleep = std::thread::sleep;
    let mut io = Io {
        out: &mut out,
        json: cli.json,
        clear,
        sleep: &mut sleep,
    };
    commands::run(&cmd, &mut xen, &mut names, &mut io)
}
