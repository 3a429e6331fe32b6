//! F-HDR: picking our cookie out of `Cookie` header fields (`cookie::candidates`).
//!
//! The reference model below is written from SECURITY.md §6.A, not from flagon's code:
//! fields are scanned byte by byte, `;` ends a pair, the first `=` ends the name, only
//! ASCII space and tab are trimmed, one pair of surrounding double quotes is dropped,
//! empty values are skipped, nothing is decoded.

use flagon::fuzz_hooks::cookie_candidates;

/// Names the fuzzer picks from with the first byte (below 4); otherwise the name is the
/// next `first % 8` bytes, whatever they are.
const NAMES: [&[u8]; 4] = [b"session", b"__Host-session", b"sid", b"s"];

/// The model's answer: every value of `name`, in order.
pub fn model_candidates(fields: &[&[u8]], name: &[u8]) -> Vec<Vec<u8>> {
    let mut found = Vec::new();
    for field in fields {
        let mut pair_start = 0;
        for end in 0..=field.len() {
            if end < field.len() && field[end] != b';' {
                continue;
            }
            let pair = &field[pair_start..end];
            pair_start = end + 1;
            let Some(eq) = pair.iter().position(|&b| b == b'=') else {
                continue;
            };
            if ascii_trim(&pair[..eq]) != name {
                continue;
            }
            let mut value = ascii_trim(&pair[eq + 1..]);
            if value.len() >= 2 && value[0] == b'"' && value[value.len() - 1] == b'"' {
                value = &value[1..value.len() - 1];
            }
            if !value.is_empty() {
                found.push(value.to_vec());
            }
        }
    }
    found
}

fn ascii_trim(bytes: &[u8]) -> &[u8] {
    let is_space = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes
        .iter()
        .position(|b| !is_space(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_space(b))
        .map_or(start, |i| i + 1);
    &bytes[start..end.max(start)]
}

/// Splits fuzzer bytes into a cookie name and header fields (separated by `\n`, which no
/// header field can hold).
pub fn header_case(data: &[u8]) -> (Vec<u8>, Vec<&[u8]>) {
    let first = data.first().copied().unwrap_or(0);
    let rest = data.get(1..).unwrap_or_default();
    let (name, rest) = if usize::from(first) < NAMES.len() {
        (NAMES[usize::from(first)].to_vec(), rest)
    } else {
        let len = usize::from(first % 8).min(rest.len());
        (rest[..len].to_vec(), &rest[len..])
    };
    (name, rest.split(|&b| b == b'\n').collect())
}

/// F-HDR oracle: flagon's candidates equal the model's, in order, and each one is a
/// slice of the field it came from (nothing decoded or copied into a new buffer).
pub fn check_header(data: &[u8]) {
    let (name, fields) = header_case(data);
    let got = cookie_candidates(&fields, &name);
    let want = model_candidates(&fields, &name);
    let got_owned: Vec<Vec<u8>> = got.iter().map(|v| v.to_vec()).collect();
    assert_eq!(got_owned, want, "name {name:?}, fields {fields:?}");
    // The fields are slices of `data` split at newlines: a candidate inside `data` with
    // no newline lies within one field (checked in linear time, however many fields).
    let (base, end) = (data.as_ptr() as usize, data.as_ptr() as usize + data.len());
    for value in got {
        let start = value.as_ptr() as usize;
        let inside = start >= base && start + value.len() <= end && !value.contains(&b'\n');
        assert!(
            inside,
            "candidate {value:?} is not a slice of a header field"
        );
        assert!(!value.contains(&b';'), "candidate spans a ';'");
    }
}
