//! The command line, as clap parses it.

use clap::{Args, Parser, Subcommand};

/// Flask's `PERMANENT_SESSION_LIFETIME` default: 31 days.
pub(crate) const DEFAULT_MAX_AGE: u64 = 31 * 24 * 60 * 60;

/// Decode, sign and make keys for Flask session cookies (flagon writes the same format).
#[derive(Debug, Parser)]
#[command(name = "flagon", version, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Verify a session cookie and print its contents as Flask's tagged JSON.
    ///
    /// Exit status 0 when the cookie verifies, 1 when it does not (the reason goes to
    /// stderr), 2 on misuse.
    Decode(DecodeArgs),
    /// Read tagged JSON on stdin and print it as a signed session cookie value.
    Sign(SignArgs),
    /// Print a new random secret key (64 hex digits) to use as SECRET_KEY.
    Keygen,
}

/// Where the secret key comes from.
#[derive(Debug, Args)]
pub(crate) struct KeyArgs {
    /// The secret key (Flask's SECRET_KEY), as text. Without this flag and without
    /// FLAGON_SECRET_KEY, the SECRET_KEY environment variable is used.
    #[arg(
        long,
        env = "FLAGON_SECRET_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub(crate) secret: Option<String>,
    /// The secret key as hex bytes, for keys that are not text; wins over --secret and
    /// FLAGON_SECRET_KEY.
    #[arg(long, value_name = "HEX")]
    pub(crate) secret_hex: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct DecodeArgs {
    #[command(flatten)]
    pub(crate) key: KeyArgs,
    /// An older key still accepted (SECRET_KEY_FALLBACKS); repeat it, oldest first.
    #[arg(long, value_name = "KEY")]
    pub(crate) fallback: Vec<String>,
    /// An older key given as hex bytes; tried after the --fallback keys.
    #[arg(long, value_name = "HEX")]
    pub(crate) fallback_hex: Vec<String>,
    /// Oldest accepted cookie, in seconds (PERMANENT_SESSION_LIFETIME).
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_MAX_AGE)]
    pub(crate) max_age: u64,
    /// The current time as Unix seconds, instead of the system clock.
    #[arg(long, value_name = "UNIX_SECS")]
    pub(crate) now: Option<u64>,
    /// Print the payload WITHOUT checking the signature or age (debugging only); no key
    /// is needed and any given is ignored.
    #[arg(long)]
    pub(crate) unverified: bool,
    /// The cookie value (what follows `session=`).
    #[arg(value_name = "COOKIE")]
    pub(crate) cookie: String,
}

#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    #[command(flatten)]
    pub(crate) key: KeyArgs,
    /// The signing time as Unix seconds, instead of the system clock.
    #[arg(long, value_name = "UNIX_SECS")]
    pub(crate) timestamp: Option<u64>,
}
