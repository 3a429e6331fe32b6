//! `flagon`: decode, sign and generate keys for Flask session cookies.
//!
//! ```text
//! flagon decode --secret KEY COOKIE         # tagged JSON on stdout; exit 1 if invalid
//! echo '{"logged_in":true}' | flagon sign --secret KEY
//! flagon keygen
//! ```
//!
//! The key comes from `--secret` / `--secret-hex`, else `FLAGON_SECRET_KEY`, else the
//! `SECRET_KEY` your app reads.
//!
//! Exit status: 0 success, 1 the cookie does not verify, 2 misuse. Errors are one line
//! on stderr; a cookie or key is never printed there.

mod args;
mod commands;

use std::io::Write;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::error::ErrorKind;
use clap::Parser;

use crate::args::Cli;
use crate::commands::CliError;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return parse_failure(&err),
    };
    let clock = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let env = commands::Env {
        stdin: &mut std::io::stdin().lock(),
        clock,
        var: &|name| std::env::var(name).ok(),
    };
    match commands::run(cli.command, env) {
        Ok(out) => {
            if let Some(warning) = out.warning {
                eprintln!("flagon: {warning}");
            }
            let mut stdout = std::io::stdout().lock();
            if stdout
                .write_all(out.stdout.as_bytes())
                .and_then(|()| stdout.flush())
                .is_err()
            {
                return ExitCode::from(1);
            }
            ExitCode::SUCCESS
        }
        Err(err) => fail(&err),
    }
}

fn fail(err: &CliError) -> ExitCode {
    eprintln!("flagon: {err}");
    ExitCode::from(err.exit_code())
}

/// `--help` and `--version` print clap's text; anything else becomes one line.
fn parse_failure(err: &clap::Error) -> ExitCode {
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = err.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => {
            fail(&CliError::Usage(
                "missing command: use `flagon decode`, `flagon sign` or `flagon keygen` \
                 (see `flagon --help`)"
                    .into(),
            ))
        }
        _ => fail(&CliError::Usage(one_line(err))),
    }
}

/// clap's error paragraph on one line, without its `error: ` prefix, plus where to look.
fn one_line(err: &clap::Error) -> String {
    let text = err.to_string();
    let paragraph: Vec<&str> = text
        .lines()
        .take_while(|line| !line.trim().is_empty())
        .map(str::trim)
        .collect();
    let joined = paragraph.join(" ");
    let message = joined.strip_prefix("error: ").unwrap_or(&joined);
    format!("{message}; see `flagon --help`")
}
