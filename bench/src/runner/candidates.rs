//! The candidates: which binary, with which arguments, needing which service.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The web framework a candidate runs on; each is compared with its own bare server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framework {
    /// axum on a current-thread tokio runtime.
    Axum,
    /// actix-web with one worker.
    Actix,
    /// Flask under gunicorn with one sync worker.
    Flask,
}

/// A service a candidate needs besides itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// Redis on 127.0.0.1:6379.
    Redis,
    /// PostgreSQL on 127.0.0.1:5432.
    Postgres,
    /// A three-node Redis Cluster the runner starts on [`CLUSTER_PORTS`].
    RedisCluster,
}

/// Ports of the Redis Cluster the runner starts for `flagon-axum --store redis-cluster`.
pub const CLUSTER_PORTS: [u16; 3] = [7301, 7302, 7303];

impl Service {
    fn port(self) -> u16 {
        match self {
            Service::Redis => 6379,
            Service::Postgres => 5432,
            Service::RedisCluster => CLUSTER_PORTS[0],
        }
    }

    /// Command name of the service's processes, for their CPU time.
    pub fn process_name(self) -> &'static str {
        match self {
            Service::Redis | Service::RedisCluster => "redis-server",
            Service::Postgres => "postgres",
        }
    }

    /// Whether something listens on the service's port.
    pub fn is_up(self) -> bool {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port()));
        TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok()
    }
}

/// One server to measure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Row name in the table (also what `--only` matches).
    pub name: String,
    /// Its framework.
    pub framework: Framework,
    /// Whether it keeps a session (bare servers do not).
    pub session: bool,
    /// Whether it keeps the session on the server (its cookie is an id).
    pub server_side: bool,
    /// Executable.
    pub program: PathBuf,
    /// Arguments, where `{port}` stands for the port it must listen on.
    pub args: Vec<String>,
    /// Service it needs, if any.
    pub needs: Option<Service>,
}

impl Candidate {
    /// The arguments with the port filled in.
    pub fn args_for(&self, port: u16) -> Vec<String> {
        self.args
            .iter()
            .map(|arg| arg.replace("{port}", &port.to_string()))
            .collect()
    }

    /// Whether this is flagon's cookie-session candidate, the one the table compares with.
    pub fn is_flagon_cookie(&self) -> bool {
        self.name == FLAGON
    }
}

/// Name of flagon's cookie-session candidate.
pub const FLAGON: &str = "flagon-axum";

/// Where the candidates live.
#[derive(Clone, Debug)]
pub struct Paths {
    /// Directory with the release binaries.
    pub bin_dir: PathBuf,
    /// gunicorn from the bench venv, if installed.
    pub gunicorn: Option<PathBuf>,
    /// Directory holding `flask_app.py`.
    pub flask_dir: PathBuf,
    /// SQLite file for flagon's SQLite store.
    pub sqlite_file: PathBuf,
    /// SQLite file for tower-sessions' sqlx store.
    pub sqlx_sqlite_file: PathBuf,
}

fn rust(name: &str, framework: Framework, session: bool, paths: &Paths) -> Candidate {
    Candidate {
        name: name.to_owned(),
        framework,
        session,
        server_side: false,
        program: paths.bin_dir.join(name),
        args: vec!["--port".into(), "{port}".into()],
        needs: None,
    }
}

fn flagon_store(label: &str, spec: &str, needs: Option<Service>, paths: &Paths) -> Candidate {
    let mut candidate = rust(FLAGON, Framework::Axum, true, paths);
    candidate.name = format!("{FLAGON} --store {label}");
    candidate.server_side = true;
    candidate.args.extend(["--store".into(), spec.into()]);
    candidate.needs = needs;
    candidate
}

fn server_side(mut candidate: Candidate, needs: Option<Service>) -> Candidate {
    candidate.server_side = true;
    candidate.needs = needs;
    candidate
}

/// A peer's server-side candidate whose database is given with `--store`.
fn with_store(candidate: Candidate, spec: &str, needs: Option<Service>) -> Candidate {
    let mut candidate = server_side(candidate, needs);
    candidate.args.extend(["--store".into(), spec.into()]);
    candidate
}

/// Every candidate, in table order.
pub fn all(paths: &Paths) -> Vec<Candidate> {
    use Framework::{Actix, Axum};
    let sqlite = format!("sqlite:{}", paths.sqlite_file.display());
    let postgres = "postgres://postgres@127.0.0.1:5432/test";
    let cluster = CLUSTER_PORTS
        .iter()
        .map(|port| format!("127.0.0.1:{port}"))
        .collect::<Vec<_>>()
        .join(",");
    let cluster = format!("redis+cluster://{cluster}");
    let mut list = vec![
        rust("bare-axum", Axum, false, paths),
        rust(FLAGON, Axum, true, paths),
        flagon_store("memory", "memory", None, paths),
        flagon_store("sqlite", &sqlite, None, paths),
        flagon_store("redis", crate::REDIS_URL, Some(Service::Redis), paths),
        flagon_store(
            "redis-cluster",
            &cluster,
            Some(Service::RedisCluster),
            paths,
        ),
        flagon_store("postgres", postgres, Some(Service::Postgres), paths),
        server_side(rust("tower-sessions-memory", Axum, true, paths), None),
        server_side(
            rust("tower-sessions-redis", Axum, true, paths),
            Some(Service::Redis),
        ),
        with_store(
            rust("tower-sessions-sqlite", Axum, true, paths),
            &format!("sqlite:{}", paths.sqlx_sqlite_file.display()),
            None,
        ),
        with_store(
            rust("tower-sessions-postgres", Axum, true, paths),
            postgres,
            Some(Service::Postgres),
        ),
        rust("axum-extra-signed", Axum, true, paths),
        rust("bare-actix", Actix, false, paths),
        rust("flagon-actix", Actix, true, paths),
        rust("actix-session-cookie", Actix, true, paths),
        server_side(
            rust("actix-session-redis", Actix, true, paths),
            Some(Service::Redis),
        ),
    ];
    list.push(flask(paths));
    list
}

/// Suffix of the owned variants' names.
pub const OWNED: &str = " --owned";

/// flagon's server-side candidates again with `--owned`: every session gets an owner, so
/// the store keeps its owner index (the session registry). Measured with `--registry`.
pub fn owned(paths: &Paths) -> Vec<Candidate> {
    all(paths)
        .into_iter()
        .filter(|c| c.server_side && c.name.starts_with(FLAGON))
        .map(|mut c| {
            c.name.push_str(OWNED);
            // A database file of its own, so the two SQLite candidates never share a lock.
            for arg in &mut c.args {
                if let Some(file) = arg.strip_prefix("sqlite:") {
                    *arg = format!("sqlite:{file}.owned");
                }
            }
            c.args.push("--owned".into());
            c
        })
        .collect()
}

fn flask(paths: &Paths) -> Candidate {
    let gunicorn = paths
        .gunicorn
        .clone()
        .unwrap_or_else(|| PathBuf::from("gunicorn"));
    let dir = paths.flask_dir.display().to_string();
    let args = ["-w", "1", "--worker-class", "sync", "--chdir", &dir, "-b"];
    let mut args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    args.extend(["127.0.0.1:{port}".into(), "flask_app:app".into()]);
    Candidate {
        name: "flask-gunicorn".into(),
        framework: Framework::Flask,
        session: true,
        server_side: false,
        program: gunicorn,
        args,
        needs: None,
    }
}

/// Why `candidate` cannot run here, if it cannot.
pub fn unavailable(candidate: &Candidate) -> Option<String> {
    if !Path::new(&candidate.program).is_file() {
        return Some(format!(
            "{} is not built or installed",
            candidate.program.display()
        ));
    }
    match candidate.needs {
        Some(service) if !service.is_up() => Some(format!(
            "nothing listens on 127.0.0.1:{} ({service:?})",
            service.port()
        )),
        _ => None,
    }
}

/// Paths that exist nowhere, for the runner's tests.
#[cfg(test)]
pub(crate) fn test_paths() -> Paths {
    Paths {
        bin_dir: "/b".into(),
        gunicorn: Some("/v/bin/gunicorn".into()),
        flask_dir: "/f".into(),
        sqlite_file: "/tmp/x.sqlite3".into(),
        sqlx_sqlite_file: "/tmp/y.sqlite3".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths() -> Paths {
        test_paths()
    }

    #[test]
    fn names_are_unique_and_ports_are_filled_in() {
        let list = all(&paths());
        let mut names: Vec<_> = list.iter().map(|c| c.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), list.len());
        let redis = list
            .iter()
            .find(|c| c.name == "flagon-axum --store redis")
            .unwrap();
        assert_eq!(redis.program, Path::new("/b/flagon-axum"));
        assert_eq!(
            redis.args_for(7000),
            ["--port", "7000", "--store", "redis://127.0.0.1:6379"]
        );
        let sqlx = list
            .iter()
            .find(|c| c.name == "tower-sessions-sqlite")
            .unwrap();
        assert_eq!(
            sqlx.args_for(7002),
            ["--port", "7002", "--store", "sqlite:/tmp/y.sqlite3"]
        );
        let cluster = list
            .iter()
            .find(|c| c.name == "flagon-axum --store redis-cluster")
            .unwrap();
        assert_eq!(cluster.needs, Some(Service::RedisCluster));
        assert!(cluster.args_for(1)[3].starts_with("redis+cluster://127.0.0.1:7301,"));
        let flask = list
            .iter()
            .find(|c| c.framework == Framework::Flask)
            .unwrap();
        let args = flask.args_for(7001);
        assert!(args.windows(2).any(|w| w == ["-b", "127.0.0.1:7001"]));
        assert!(args.windows(2).any(|w| w == ["--worker-class", "sync"]));
    }

    #[test]
    fn owned_variants_are_flagons_stores_with_the_flag() {
        let list = owned(&paths());
        assert_eq!(list.len(), 5);
        assert!(list
            .iter()
            .all(|c| c.name.ends_with(OWNED) && c.args.last().unwrap() == "--owned"));
    }

    #[test]
    fn a_missing_binary_is_reported() {
        let list = all(&paths());
        let reason = unavailable(&list[0]).unwrap();
        assert!(reason.contains("/b/bare-axum"), "{reason}");
    }
}
