//! What each subcommand does, kept free of process-level I/O so it can be unit-tested.

use std::io::Read;

use flagon::flask::{self, DecodeError, Limits};
use flagon::ConfigError;
use flagon::{Key, KeyRing};

use crate::args::{Command, DecodeArgs, KeyArgs, SignArgs};

/// Why a command failed; decides the exit status.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// The command line or input was unusable (exit 2). The message says what to do.
    #[error("{0}")]
    Usage(String),
    /// The cookie is not a valid session (exit 1).
    #[error("cookie rejected: {0}")]
    Rejected(#[from] DecodeError),
}

impl CliError {
    /// The process exit status for this error.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Rejected(_) => 1,
        }
    }
}

/// What a successful command prints: `stdout` verbatim, `warning` as one stderr line.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Output {
    pub(crate) stdout: String,
    pub(crate) warning: Option<String>,
}

/// Where a command finds what the process gives it besides its arguments.
pub(crate) struct Env<'a> {
    /// The standard input.
    pub(crate) stdin: &'a mut dyn Read,
    /// The current Unix time.
    pub(crate) clock: u64,
    /// An environment variable's value (`SECRET_KEY`), if set.
    pub(crate) var: &'a dyn Fn(&str) -> Option<String>,
}

/// Runs `command` in `env`.
pub(crate) fn run(command: Command, env: Env<'_>) -> Result<Output, CliError> {
    let Env { stdin, clock, var } = env;
    match command {
        Command::Decode(args) => decode(args, clock, var),
        Command::Sign(args) => sign(args, stdin, clock, var),
        Command::Keygen => Ok(Output {
            stdout: format!("{}\n", Key::generate().to_hex()),
            warning: None,
        }),
    }
}

fn decode(
    args: DecodeArgs,
    clock: u64,
    var: &dyn Fn(&str) -> Option<String>,
) -> Result<Output, CliError> {
    let cookie = args.cookie.trim();
    let limits = cli_limits();
    if args.unverified {
        let (session, timestamp) = flask::insecure_decode_unverified(cookie.as_bytes(), &limits)?;
        return Ok(Output {
            stdout: format!("{}\n", flask::to_tagged_json(&session)),
            warning: Some(format!(
                "warning: signature NOT checked (--unverified); anyone can forge this content \
                 (signed at Unix time {timestamp})"
            )),
        });
    }
    let mut ring = KeyRing::new(secret_key(&args.key, var)?);
    let fallbacks = args
        .fallback
        .iter()
        .map(|text| key_from_text(text, "--fallback"));
    let hex_fallbacks = args
        .fallback_hex
        .iter()
        .map(|hex| key_from_hex(hex, "--fallback-hex"));
    for key in fallbacks.chain(hex_fallbacks) {
        ring = ring.with_fallback(key?);
    }
    let now = args.now.unwrap_or(clock);
    let verified = flask::verify(cookie.as_bytes(), &ring, now, args.max_age, 0, &limits)?;
    // The one case where key rotation is the story: an old key signed it.
    let warning = (verified.key_index > 0).then(|| {
        "note: signed with a fallback key, not the current one: the app still accepts it and \
         re-signs it with the current key the next time it saves the session"
            .to_owned()
    });
    Ok(Output {
        stdout: format!("{}\n", flask::to_tagged_json(&verified.session)),
        warning,
    })
}

fn sign(
    args: SignArgs,
    stdin: &mut dyn Read,
    clock: u64,
    var: &dyn Fn(&str) -> Option<String>,
) -> Result<Output, CliError> {
    let key = secret_key(&args.key, var)?;
    let mut input = Vec::new();
    stdin
        .read_to_end(&mut input)
        .map_err(|e| CliError::Usage(format!("could not read the session from stdin: {e}")))?;
    let session = flask::from_tagged_json(&input, &Limits::default()).map_err(|e| {
        // The decoder speaks of cookies; here the text came from the user, not a cookie.
        let why = match e {
            DecodeError::Payload(why) => why.to_owned(),
            other => other.to_string(),
        };
        CliError::Usage(format!(
            "stdin is not a tagged-JSON session object ({why}); pipe in e.g. '{{\"logged_in\":true}}'"
        ))
    })?;
    let timestamp = args.timestamp.unwrap_or(clock);
    if timestamp == 0 {
        // itsdangerous writes 0 as an empty segment, which no verifier with a max age
        // accepts (and flagon refuses as malformed): a cookie nobody could load.
        return Err(CliError::Usage(
            "--timestamp 0 makes a cookie no server accepts (its time segment is empty); \
             give a Unix time of 1 or later"
                .into(),
        ));
    }
    let cookie = flask::sign(&session, &key, timestamp);
    let warning = (cookie.len() > MAX_BROWSER_COOKIE).then(|| {
        format!(
            "warning: this cookie is {} bytes; browsers drop cookies over about {MAX_BROWSER_COOKIE} \
             bytes (name and attributes included), so it would never come back. Store less in \
             the session or use a server-side store",
            cookie.len()
        )
    });
    Ok(Output {
        stdout: format!("{cookie}\n"),
        warning,
    })
}

/// The longest cookie value worth printing without a warning (flagon's and Flask's
/// `MAX_COOKIE_SIZE` default).
const MAX_BROWSER_COOKIE: usize = 4093;

/// flagon's decoding caps, except that a cookie given on the command line may be as long
/// as Flask ever writes one (it only warns above 4093 bytes; browsers drop those).
fn cli_limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_cookie_len = 64 * 1024;
    limits
}

/// The signing key from `--secret-hex`, `--secret` (or `FLAGON_SECRET_KEY`, which clap
/// reads into it), else the `SECRET_KEY` every Flask app is configured with.
fn secret_key(args: &KeyArgs, var: &dyn Fn(&str) -> Option<String>) -> Result<Key, CliError> {
    match (&args.secret, &args.secret_hex) {
        (_, Some(hex)) => key_from_hex(hex, "--secret-hex"),
        (Some(text), None) => key_from_text(text, "--secret"),
        (None, None) => match var("SECRET_KEY") {
            Some(text) => Key::new(text).map_err(|e| match e {
                ConfigError::EmptyKey => CliError::Usage(
                    "SECRET_KEY is set but empty: set it to the app's key, or pass --secret KEY"
                        .into(),
                ),
                other => CliError::Usage(format!("SECRET_KEY: {other}")),
            }),
            None => Err(CliError::Usage(
                "no secret key: pass --secret KEY (or --secret-hex HEX), or set \
                 FLAGON_SECRET_KEY or SECRET_KEY"
                    .into(),
            )),
        },
    }
}

fn key_from_text(text: &str, flag: &str) -> Result<Key, CliError> {
    Key::new(text).map_err(|e| CliError::Usage(format!("{flag}: {e}")))
}

fn key_from_hex(hex: &str, flag: &str) -> Result<Key, CliError> {
    let bytes = parse_hex(hex.trim()).ok_or_else(|| {
        CliError::Usage(format!(
            "{flag} takes an even number of hex digits (0-9, a-f)"
        ))
    })?;
    Key::new(bytes).map_err(|e| CliError::Usage(format!("{flag}: {e}")))
}

fn parse_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_parses_bytes_and_rejects_junk() {
        assert_eq!(parse_hex("00ff7A"), Some(vec![0, 0xff, 0x7a]));
        assert_eq!(parse_hex(""), Some(vec![]));
        assert_eq!(parse_hex("abc"), None);
        assert_eq!(parse_hex("zz"), None);
        assert_eq!(parse_hex("é1"), None);
    }

    fn no_var(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn missing_key_is_usage_error() {
        let args = KeyArgs {
            secret: None,
            secret_hex: None,
        };
        let err = secret_key(&args, &no_var).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(
            err.to_string().contains("FLAGON_SECRET_KEY or SECRET_KEY"),
            "{err}"
        );
    }

    #[test]
    fn secret_key_variable_is_the_last_resort() {
        let none = KeyArgs {
            secret: None,
            secret_hex: None,
        };
        let app_key = |name: &str| (name == "SECRET_KEY").then(|| "app key".to_owned());
        let from_var = secret_key(&none, &app_key).unwrap();
        assert_eq!(from_var.to_hex(), Key::new("app key").unwrap().to_hex());
        let flag = KeyArgs {
            secret: Some("flag key".into()),
            secret_hex: None,
        };
        let from_flag = secret_key(&flag, &app_key).unwrap();
        assert_eq!(from_flag.to_hex(), Key::new("flag key").unwrap().to_hex());
        let empty = |_: &str| Some(String::new());
        let err = secret_key(&none, &empty).unwrap_err();
        assert!(
            err.to_string().starts_with("SECRET_KEY is set but empty"),
            "{err}"
        );
    }

    #[test]
    fn bad_json_on_stdin_does_not_speak_of_signatures() {
        let args = SignArgs {
            key: KeyArgs {
                secret: Some("k".into()),
                secret_hex: None,
            },
            timestamp: Some(1),
        };
        let err = sign(args, &mut &b"{not json"[..], 1, &no_var).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("stdin is not a tagged-JSON session object ("),
            "{text}"
        );
        assert!(
            !text.contains("signed") && !text.contains("Flask never"),
            "{text}"
        );
    }

    #[test]
    fn empty_key_is_usage_error() {
        let err = key_from_text("", "--secret").unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().starts_with("--secret: "), "{err}");
    }

    #[test]
    fn keygen_prints_64_hex_digits() {
        let env = Env {
            stdin: &mut std::io::empty(),
            clock: 0,
            var: &no_var,
        };
        let out = run(Command::Keygen, env).unwrap();
        let key = out.stdout.trim_end();
        assert_eq!(key.len(), 64);
        assert!(key.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(out.warning, None);
    }
}
