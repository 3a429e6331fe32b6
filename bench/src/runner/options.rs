//! The runner's command line.

use std::path::PathBuf;

/// How `bench-runner` was asked to run.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// `quick`, `full`.
    pub mode: &'static str,
    /// Interleaved rounds.
    pub rounds: u32,
    /// Seconds per measurement.
    pub seconds: u64,
    /// Warm-up seconds per candidate and route.
    pub warmup: u64,
    /// Routes warmed up (all in a full run; `/counter` only in a quick one).
    pub warmup_routes: usize,
    /// wrk connections.
    pub connections: u32,
    /// Distinct sessions of the many-sessions workload (`--sessions N`).
    pub sessions: u32,
    /// Session counts of the scaling table (`--scale 1,10000,100000`; empty: none).
    pub scale: Vec<u32>,
    /// Also measure flagon's stores with every session owned (`--registry`).
    pub registry: bool,
    /// Only these candidates (by name), if given.
    pub only: Option<Vec<String>>,
    /// Fail when any selected candidate could not be measured.
    pub strict: bool,
    /// Release binaries.
    pub bin_dir: PathBuf,
    /// gunicorn of the bench venv.
    pub gunicorn: Option<PathBuf>,
    /// Directory of `flask_app.py`.
    pub flask_dir: PathBuf,
    /// Criterion's output directory, to include the codec table.
    pub criterion_dir: Option<PathBuf>,
    /// File to write the table to as well.
    pub out: Option<PathBuf>,
}

/// Usage text.
pub const USAGE: &str = "usage: bench-runner --bin-dir DIR [--quick] [--rounds N] [--seconds S] \
[--warmup S] [--connections C] [--sessions N] [--scale N,N,…|none] [--registry] [--only NAME,NAME] [--strict] [--gunicorn PATH] [--flask-dir DIR] \
[--criterion-dir DIR] [--out FILE]";

impl Options {
    /// Defaults of a full run.
    fn full() -> Options {
        Options {
            mode: "full",
            rounds: 5,
            seconds: 3,
            warmup: 2,
            warmup_routes: 2,
            connections: 32,
            sessions: 10_000,
            scale: vec![1, 10_000, 100_000],
            registry: false,
            only: None,
            strict: false,
            bin_dir: PathBuf::new(),
            gunicorn: None,
            flask_dir: PathBuf::from("bench"),
            criterion_dir: None,
            out: None,
        }
    }

    fn quick(mut self) -> Options {
        self.mode = "quick";
        self.rounds = 2;
        self.seconds = 1;
        self.warmup = 1;
        self.warmup_routes = 1;
        self.scale = vec![1, 10_000];
        self
    }

    /// Parses `args` (without the program name).
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
        let args: Vec<String> = args.into_iter().collect();
        let mut options = match args.iter().any(|a| a == "--quick") {
            true => Options::full().quick(),
            false => Options::full(),
        };
        let mut bin_dir = None;
        let mut iter = args.into_iter();
        while let Some(arg) = iter.next() {
            if arg == "--quick" || arg == "--strict" || arg == "--registry" {
                options.strict |= arg == "--strict";
                options.registry |= arg == "--registry";
                continue;
            }
            let value = iter
                .next()
                .ok_or_else(|| format!("{arg} needs a value; {USAGE}"))?;
            let number = |v: &str| {
                v.parse::<u64>()
                    .map_err(|_| format!("{arg} {v:?}: not a number"))
            };
            match arg.as_str() {
                "--rounds" => options.rounds = number(&value)?.clamp(1, 1000) as u32,
                "--seconds" => options.seconds = number(&value)?.max(1),
                "--warmup" => options.warmup = number(&value)?,
                "--connections" => options.connections = number(&value)?.clamp(1, 10_000) as u32,
                "--sessions" => options.sessions = number(&value)?.clamp(1, 1_000_000) as u32,
                "--scale" => options.scale = scale(&value)?,
                "--only" => options.only = Some(value.split(',').map(str::to_owned).collect()),
                "--bin-dir" => bin_dir = Some(PathBuf::from(value)),
                "--gunicorn" => options.gunicorn = Some(PathBuf::from(value)),
                "--flask-dir" => options.flask_dir = PathBuf::from(value),
                "--criterion-dir" => options.criterion_dir = Some(PathBuf::from(value)),
                "--out" => options.out = Some(PathBuf::from(value)),
                _ => return Err(format!("unknown argument {arg:?}; {USAGE}")),
            }
        }
        options.bin_dir = bin_dir.ok_or_else(|| format!("--bin-dir is required; {USAGE}"))?;
        Ok(options)
    }
}

/// `1,10000,100000` (each 1 to 1,000,000), or `none` for no scaling table.
fn scale(text: &str) -> Result<Vec<u32>, String> {
    if text == "none" {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|n| match n.trim().parse::<u32>() {
            Ok(n @ 1..=1_000_000) => Ok(n),
            _ => Err(format!(
                "--scale {text:?}: give session counts from 1 to 1000000, like 1,10000,100000, or none"
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        Options::parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn quick_full_and_overrides() {
        let full = parse(&["--bin-dir", "/b"]).unwrap();
        assert_eq!((full.mode, full.rounds, full.seconds), ("full", 5, 3));
        let quick = parse(&["--bin-dir", "/b", "--quick", "--rounds", "1", "--strict"]).unwrap();
        assert_eq!((quick.mode, quick.rounds, quick.seconds), ("quick", 1, 1));
        assert!(quick.strict && !full.strict);
        assert!(parse(&["--bin-dir", "/b", "--registry"]).unwrap().registry && !full.registry);
        let only = parse(&["--only", "bare-axum,flagon-axum", "--bin-dir", "/b"]).unwrap();
        assert_eq!(only.only.unwrap(), ["bare-axum", "flagon-axum"]);
        assert_eq!(
            (full.sessions, full.scale.as_slice()),
            (10_000, &[1, 10_000, 100_000][..])
        );
        let sized = parse(&["--bin-dir", "/b", "--sessions", "500", "--scale", "1,500"]).unwrap();
        assert_eq!(
            (sized.sessions, sized.scale.as_slice()),
            (500, &[1, 500][..])
        );
        assert!(parse(&["--bin-dir", "/b", "--scale", "none"])
            .unwrap()
            .scale
            .is_empty());
    }

    #[test]
    fn errors_name_the_argument() {
        assert!(parse(&[]).unwrap_err().contains("--bin-dir is required"));
        assert!(parse(&["--bin-dir"]).unwrap_err().contains("needs a value"));
        assert!(parse(&["--bin-dir", "/b", "--rounds", "x"])
            .unwrap_err()
            .contains("--rounds"));
        assert!(parse(&["--bin-dir", "/b", "--scale", "0,10"])
            .unwrap_err()
            .contains("--scale"));
        assert!(parse(&["--frobnicate", "1"])
            .unwrap_err()
            .contains("--frobnicate"));
    }
}
