//! Command line of the workload servers: `--port N` and, for flagon, `--store SPEC`.

use std::fmt;

/// What a workload server was asked to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerArgs {
    /// TCP port on 127.0.0.1.
    pub port: u16,
    /// Session store spec (flagon only): `cookie` (the default), `memory`,
    /// `sqlite:PATH`, `redis://…` or `postgres://…`, as the login example's
    /// `SESSION_STORE`.
    pub store: String,
    /// `--owned` (flagon only): every session gets an owner on its first `/counter`, so
    /// the stores keep their owner index (the session registry) up to date.
    pub owned: bool,
}

/// A command line the server does not understand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgsError(String);

impl fmt::Display for ArgsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}; usage: --port N [--store cookie|memory|sqlite:PATH|redis://HOST:PORT|postgres://URL] [--owned]",
            self.0
        )
    }
}

impl std::error::Error for ArgsError {}

impl ServerArgs {
    /// Parses the process arguments; `with_store` says whether `--store` is accepted.
    pub fn from_env(with_store: bool) -> Result<ServerArgs, ArgsError> {
        ServerArgs::parse(std::env::args().skip(1), with_store)
    }

    /// Parses `args` (without the program name).
    pub fn parse(
        args: impl IntoIterator<Item = String>,
        with_store: bool,
    ) -> Result<ServerArgs, ArgsError> {
        let mut port = None;
        let mut store = String::from("cookie");
        let mut owned = false;
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let mut value = |name: &str| {
                args.next()
                    .ok_or_else(|| ArgsError(format!("{name} needs a value")))
            };
            match arg.as_str() {
                "--port" => {
                    let text = value("--port")?;
                    let parsed = text
                        .parse()
                        .map_err(|_| ArgsError(format!("--port {text:?} is not a port number")))?;
                    port = Some(parsed);
                }
                "--store" if with_store => store = value("--store")?,
                "--owned" if with_store => owned = true,
                other => return Err(ArgsError(format!("unknown argument {other:?}"))),
            }
        }
        let port = port.ok_or_else(|| ArgsError("--port is required".into()))?;
        Ok(ServerArgs { port, store, owned })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str], with_store: bool) -> Result<ServerArgs, ArgsError> {
        ServerArgs::parse(args.iter().map(|s| s.to_string()), with_store)
    }

    #[test]
    fn port_and_store() {
        let args = parse(
            &["--port", "8081", "--store", "redis://127.0.0.1:6379"],
            true,
        );
        assert_eq!(
            args,
            Ok(ServerArgs {
                port: 8081,
                store: "redis://127.0.0.1:6379".into(),
                owned: false,
            })
        );
        assert!(parse(&["--port", "1", "--owned"], true).unwrap().owned);
        assert!(parse(&["--port", "1", "--owned"], false).is_err());
        assert_eq!(parse(&["--port", "1"], true).unwrap().store, "cookie");
    }

    #[test]
    fn refuses_what_it_does_not_know() {
        assert!(parse(&[], false).is_err());
        assert!(parse(&["--port"], false).is_err());
        assert!(parse(&["--port", "99999"], false).is_err());
        assert!(parse(&["--port", "1", "--store", "memory"], false).is_err());
        let err = parse(&["--bogus"], true).unwrap_err().to_string();
        assert!(err.contains("--bogus") && err.contains("usage"), "{err}");
    }
}
