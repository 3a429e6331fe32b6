//! Reading the criterion codec benches' medians (`benches/codec.rs`).

use std::fmt::Write;
use std::path::Path;

/// Benches of `benches/codec.rs`, as (criterion function name, label).
pub const BENCHES: [(&str, &str); 3] = [
    ("verify_decode", "verify + decode"),
    ("encode_sign", "encode + sign"),
    ("hmac_sha1", "one HMAC-SHA1 (floor)"),
];

/// Sessions of `benches/codec.rs`, as (criterion parameter, label).
pub const SIZES: [(&str, &str); 2] = [("small", "`{\"logged_in\": true}`"), ("3k", "3 KB cookie")];

/// Median nanoseconds per bench and session size.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Codec {
    medians: Vec<(String, String, f64)>,
}

impl Codec {
    /// Reads `<criterion>/codec/<bench>/<size>/new/estimates.json`; `None` when no
    /// bench result is there.
    pub fn read(criterion: &Path) -> Option<Codec> {
        let mut codec = Codec::default();
        for (bench, _) in BENCHES {
            for (size, _) in SIZES {
                let file = criterion.join(format!("codec/{bench}/{size}/new/estimates.json"));
                let Ok(text) = std::fs::read_to_string(file) else {
                    continue;
                };
                if let Some(ns) = median_ns(&text) {
                    codec.medians.push((bench.into(), size.into(), ns));
                }
            }
        }
        (!codec.medians.is_empty()).then_some(codec)
    }

    /// The median of `bench` on `size`, in nanoseconds.
    pub fn get(&self, bench: &str, size: &str) -> Option<f64> {
        self.medians
            .iter()
            .find(|(b, s, _)| b == bench && s == size)
            .map(|(_, _, ns)| *ns)
    }

    /// The codec table in markdown.
    pub fn table(&self) -> String {
        let mut out = String::from(
            "\n## Codec (criterion, `cargo bench -p flagon-bench --bench codec`)\n\n\
             | operation | session | median | vs one HMAC-SHA1 over the same bytes |\n\
             |---|---|--:|--:|\n",
        );
        for (size, size_label) in SIZES {
            let floor = self.get("hmac_sha1", size);
            for (bench, label) in BENCHES {
                let Some(ns) = self.get(bench, size) else {
                    continue;
                };
                let ratio = super::report::ratio(ns, floor);
                let _ = writeln!(out, "| {label} | {size_label} | {} | {ratio} |", nanos(ns));
            }
        }
        out
    }
}

fn median_ns(json: &str) -> Option<f64> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    value.get("median")?.get("point_estimate")?.as_f64()
}

/// `1234.5` ns as `1.23 µs`, `87.1` as `87.1 ns`.
pub fn nanos(ns: f64) -> String {
    match ns {
        ns if ns >= 1e6 => format!("{:.2} ms", ns / 1e6),
        ns if ns >= 1e3 => format!("{:.2} µs", ns / 1e3),
        ns => format!("{ns:.1} ns"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_criterion_estimates() {
        let dir = std::env::temp_dir().join(format!("flagon-bench-codec-{}", std::process::id()));
        for (bench, ns) in [("verify_decode", 900.0), ("hmac_sha1", 600.0)] {
            let path = dir.join(format!("codec/{bench}/small/new"));
            std::fs::create_dir_all(&path).unwrap();
            let json =
                format!(r#"{{"mean":{{"point_estimate":1}},"median":{{"point_estimate":{ns}}}}}"#);
            std::fs::write(path.join("estimates.json"), json).unwrap();
        }
        let codec = Codec::read(&dir).unwrap();
        assert_eq!(codec.get("verify_decode", "small"), Some(900.0));
        assert_eq!(codec.get("encode_sign", "small"), None);
        let table = codec.table();
        assert!(table.contains("| verify + decode | `{\"logged_in\": true}` | 900.0 ns | 1.50× |"));
        assert!(Codec::read(&dir.join("nothing")).is_none());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn nanos_picks_a_unit() {
        assert_eq!(nanos(87.14), "87.1 ns");
        assert_eq!(nanos(1234.5), "1.23 µs");
        assert_eq!(nanos(2.5e6), "2.50 ms");
    }
}
