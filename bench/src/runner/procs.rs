//! Processes the runner starts: servers pinned to core 0, stopped by PID, and their CPU
//! time from `/proc`.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// Every server the runner started. Dropping it stops them all, by PID.
#[derive(Debug, Default)]
pub struct Procs {
    children: Vec<Child>,
}

impl Procs {
    /// Starts `program args…` pinned to core 0 (`taskset -c 0`, which execs it, so the
    /// PID is the server's), in its own process group so a Ctrl-C on the terminal reaches
    /// only the runner, with stdout and stderr going to `log`.
    pub fn spawn_pinned(&mut self, program: &Path, args: &[String], log: &Path) -> io::Result<u32> {
        let mut command = Command::new("taskset");
        command.args(["-c", "0"]).arg(program).args(args);
        self.spawn(command, log)
    }

    /// Starts `command` on any core (a service such as a Redis Cluster node, which runs
    /// unpinned like the machine's own Redis), in its own process group, output to `log`.
    pub fn spawn_unpinned(
        &mut self,
        program: &str,
        args: &[String],
        log: &Path,
    ) -> io::Result<u32> {
        let mut command = Command::new(program);
        command.args(args);
        self.spawn(command, log)
    }

    fn spawn(&mut self, mut command: Command, log: &Path) -> io::Result<u32> {
        let log = fs::File::create(log)?;
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0)
            .spawn()?;
        let pid = child.id();
        self.children.push(child);
        Ok(pid)
    }

    /// Whether the process `pid` (started here) has exited.
    pub fn has_exited(&mut self, pid: u32) -> bool {
        self.children
            .iter_mut()
            .find(|child| child.id() == pid)
            .is_none_or(|child| !matches!(child.try_wait(), Ok(None)))
    }

    /// Stops every process started here and their descendants: SIGTERM, a grace period,
    /// then SIGKILL for whatever is left. Safe to call twice.
    pub fn stop_all(&mut self) {
        let mut pids = Vec::new();
        for child in &self.children {
            pids.extend(descendants(child.id()));
            pids.push(child.id());
        }
        signal(&pids, "-TERM");
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline && pids.iter().any(|&pid| alive(pid, &mut self.children)) {
            sleep(Duration::from_millis(50));
        }
        let left: Vec<u32> = pids
            .into_iter()
            .filter(|&pid| alive(pid, &mut self.children))
            .collect();
        signal(&left, "-KILL");
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.children.clear();
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// Is `pid` still running? Our own children are reaped on the way so they do not linger
/// as zombies.
fn alive(pid: u32, children: &mut [Child]) -> bool {
    if let Some(child) = children.iter_mut().find(|child| child.id() == pid) {
        return matches!(child.try_wait(), Ok(None));
    }
    stat_fields(pid).is_some_and(|fields| fields.first().map(String::as_str) != Some("Z"))
}

fn signal(pids: &[u32], which: &str) {
    if pids.is_empty() {
        return;
    }
    let _ = Command::new("kill")
        .arg(which)
        .args(pids.iter().map(u32::to_string))
        .stderr(Stdio::null())
        .status();
}

/// The fields of `/proc/<pid>/stat` after the command name: `[state, ppid, …]`.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// Every process whose chain of parents leads to `root`.
pub fn descendants(root: u32) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let parents: Vec<(u32, u32)> = entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| Some((pid, stat_fields(pid)?.get(1)?.parse().ok()?)))
        .collect();
    let mut found = vec![root];
    let mut index = 0;
    while index < found.len() {
        let parent = found[index];
        found.extend(
            parents
                .iter()
                .filter(|(_, p)| *p == parent)
                .map(|(pid, _)| *pid),
        );
        index += 1;
    }
    found.remove(0);
    found
}

fn ticks_of(pid: u32) -> Option<u64> {
    let fields = stat_fields(pid)?;
    // utime and stime are fields 14 and 15 of the stat line; `fields` starts at 3.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// CPU time (user + system, all threads) of `pid` and its descendants, in clock ticks.
pub fn cpu_ticks(pid: u32) -> u64 {
    std::iter::once(pid)
        .chain(descendants(pid))
        .filter_map(ticks_of)
        .sum()
}

/// CPU time of every process whose command name is `name` (such as `redis-server`),
/// per PID, in clock ticks, counting the reaped children of each too (a PostgreSQL
/// backend that exits moves its time into the postmaster's). Only reads `/proc`: these
/// processes are not the runner's.
pub fn cpu_ticks_named(name: &str) -> BTreeMap<u32, u64> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return BTreeMap::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|comm| comm.trim() == name)
        })
        .filter_map(|pid| {
            let fields = stat_fields(pid)?;
            let sum = (11..15)
                .map(|i| fields.get(i)?.parse::<u64>().ok())
                .sum::<Option<u64>>()?;
            Some((pid, sum))
        })
        .collect()
}

/// Ticks spent between two [`cpu_ticks_named`] snapshots: per PID, so a process that
/// starts or ends in between does not swing the total (one that started counts whole).
pub fn ticks_between(before: &BTreeMap<u32, u64>, after: &BTreeMap<u32, u64>) -> u64 {
    after
        .iter()
        .map(|(pid, ticks)| ticks.saturating_sub(before.get(pid).copied().unwrap_or(0)))
        .sum()
}

/// Resident memory of `pid` and its descendants in KiB (`VmRSS` of `/proc/<pid>/status`),
/// `None` when it cannot be read.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let of = |pid: u32| -> Option<u64> {
        let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    let own = of(pid)?;
    Some(own + descendants(pid).into_iter().filter_map(of).sum::<u64>())
}

/// Clock ticks per second (`getconf CLK_TCK`, 100 when that fails).
pub fn ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok()?.trim().parse().ok())
        .unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_our_own_resident_memory() {
        let kib = rss_kib(std::process::id()).unwrap();
        assert!(kib > 100, "{kib} KiB");
    }

    #[test]
    fn starts_measures_and_stops_a_process_tree() {
        let dir = std::env::temp_dir().join(format!("flagon-bench-procs-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let script = "sleep 30 & i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; wait";
        let mut procs = Procs::default();
        let args = vec!["-c".to_string(), script.to_string()];
        let pid = procs
            .spawn_pinned(Path::new("/bin/sh"), &args, &dir.join("log"))
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while descendants(pid).is_empty() && Instant::now() < deadline {
            sleep(Duration::from_millis(20));
        }
        let child = descendants(pid);
        assert_eq!(child.len(), 1, "the shell's `sleep` child is found");
        while cpu_ticks(pid) == 0 && Instant::now() < deadline {
            sleep(Duration::from_millis(20));
        }
        assert!(cpu_ticks(pid) > 0, "the busy loop shows up as CPU time");
        let by_name = cpu_ticks_named("sh");
        assert!(
            by_name.get(&pid).is_some_and(|&t| t > 0),
            "the busy shell is counted by name"
        );
        let mut later = by_name.clone();
        later.insert(u32::MAX, 5);
        later.insert(pid, by_name[&pid] + 2);
        assert_eq!(ticks_between(&by_name, &later), 7);
        procs.stop_all();
        assert!(procs.has_exited(pid));
        assert!(
            stat_fields(child[0]).is_none_or(|f| f[0] == "Z"),
            "the grandchild is gone"
        );
        fs::remove_dir_all(dir).unwrap();
    }
}
