"""Log-leak scan: find secret keys, derived keys, cookie values and session ids in a log.

    scan.py LOG [--repo DIR]     exit 1 and list the findings when the log leaks anything
    scan.py --self-test          plant every kind of leak in a log and check each is found

What counts as a leak, in any encoding (raw text, hex either case, standard base64 with or
without padding, base64url, Rust's `[1, 2, 3]` byte lists, raw bytes):

* a secret key the test sources use (`Key::new("...")`, `*SECRET*` constants,
  `--secret` arguments), and every key flagon derives from it: HMAC-SHA1(secret,
  "cookie-session"), HMAC-SHA1(secret, "flagon.session-id") and Flask-WTF's
  SHA1("wtf-csrf-token" + "signer" + secret);
* anything shaped like a signed value (`payload.timestamp.signature`, the form of session
  cookies, id cookies and CSRF tokens): a 27-character base64url signature after two dots;
* tokens that no legitimate log line holds: runs of 32 or more base64 or base64url
  characters mixing upper case, lower case and digits (a 24-byte session id is 32), runs
  of 40 or more hex digits (derived keys, ids, store keys, digests), and byte lists of 16
  or more numbers.

Secrets shorter than ten characters are only looked for in their encoded forms of eight
characters or more: the raw text of test keys like "k" or "current" is in ordinary log
lines.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import re
import sys
from pathlib import Path

SALTS = [b"cookie-session", b"flagon.session-id"]
# Test keys such as "current" or "old" are words the logs use: their raw text is only
# looked for from this length on (their encodings always are).
RAW_MIN = 10

SIGNED_VALUE = re.compile(rb"[A-Za-z0-9_-]*\.?[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{2,11}\.[A-Za-z0-9_-]{27}(?![A-Za-z0-9_-])")
TOKEN = re.compile(rb"[A-Za-z0-9_+/-]{32,}={0,2}")
HEX_RUN = re.compile(rb"(?<![0-9A-Fa-f])[0-9A-Fa-f]{40,}(?![0-9A-Fa-f])")
BYTE_LIST = re.compile(rb"\[(?:\d{1,3}, ){15,}\d{1,3}\]")

SECRET_PATTERNS = [
    re.compile(r'Key::new\(\s*b?"((?:[^"\\]|\\.)+)"'),
    re.compile(r'SECRET[A-Z_]*: &str = "((?:[^"\\]|\\.)+)"'),
    re.compile(r'"--secret",\s*"((?:[^"\\]|\\.)+)"'),
    re.compile(r'"--secret", "((?:[^"\\]|\\.)+)"'),
    re.compile(r'secret_key\s*=\s*"((?:[^"\\]|\\.)+)"'),
]


def test_secrets(repo: Path) -> set[bytes]:
    """Every secret key literal in the Rust and Python test and example sources."""
    found: set[bytes] = set()
    for pattern_dir in ["tests", "src", "examples", "cli", "fuzz/src"]:
        base = repo / pattern_dir
        if not base.exists():
            continue
        for path in list(base.rglob("*.rs")) + list(base.rglob("*.py")):
            if path.parent.name == "log-leak":
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            for pattern in SECRET_PATTERNS:
                for match in pattern.finditer(text):
                    literal = match.group(1).encode().decode("unicode_escape").encode("latin-1", "replace")
                    if literal:
                        found.add(literal)
    return found


def derived(secret: bytes) -> list[tuple[str, bytes]]:
    keys = [(f"derived key ({salt.decode()})", hmac.new(secret, salt, hashlib.sha1).digest())
            for salt in SALTS]
    keys.append(("derived key (wtf-csrf-token)",
                 hashlib.sha1(b"wtf-csrf-token" + b"signer" + secret).digest()))
    return keys


def encodings(data: bytes) -> list[tuple[str, bytes]]:
    forms = [
        ("hex", data.hex().encode()),
        ("HEX", data.hex().upper().encode()),
        ("base64", base64.b64encode(data)),
        ("base64 unpadded", base64.b64encode(data).rstrip(b"=")),
        ("base64url", base64.urlsafe_b64encode(data).rstrip(b"=")),
        ("byte list", ("[" + ", ".join(str(b) for b in data) + "]").encode()),
    ]
    return [(name, form) for name, form in forms if len(form) >= 8]


def needles(secrets: set[bytes]) -> list[tuple[str, bytes]]:
    """(what, bytes to look for) for every secret and derived key."""
    out = []
    for secret in sorted(secrets):
        label = secret[:4].decode("latin-1") + "…"
        if len(secret) >= RAW_MIN:
            out.append((f"secret key {label!r} (raw)", secret))
        for form, text in encodings(secret):
            out.append((f"secret key {label!r} ({form})", text))
        for what, key in derived(secret):
            out.append((f"{what} of {label!r} (raw bytes)", key))
            for form, text in encodings(key):
                out.append((f"{what} of {label!r} ({form})", text))
    return out


def mixed(token: bytes) -> bool:
    return (any(c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZ" for c in token)
            and any(c in b"abcdefghijklmnopqrstuvwxyz" for c in token)
            and any(c in b"0123456789" for c in token))


def scan(log: bytes, secrets: set[bytes]) -> list[tuple[int, str, bytes]]:
    """Findings as (line number, what, excerpt)."""
    findings = []
    # Whole-log search: raw key bytes may hold a newline themselves.
    for what, needle in needles(secrets):
        at = log.find(needle)
        while at != -1:
            findings.append((log.count(b"\n", 0, at) + 1, what, needle))
            at = log.find(needle, at + 1)
    for number, line in enumerate(log.split(b"\n"), 1):
        for match in SIGNED_VALUE.finditer(line):
            findings.append((number, "signed value (cookie, id cookie or token)", match.group()))
        for match in TOKEN.finditer(line):
            if mixed(match.group()):
                findings.append((number, "long base64 token (session id?)", match.group()))
        for match in HEX_RUN.finditer(line):
            findings.append((number, "long hex run (key, id or digest)", match.group()))
        for match in BYTE_LIST.finditer(line):
            findings.append((number, "byte list of 16+ bytes", match.group()))
    return findings


def redact(excerpt: bytes) -> str:
    text = excerpt.decode("latin-1")
    return text if len(text) <= 12 else text[:8] + f"…({len(text)} chars)"


def self_test() -> None:
    secret = b"a planted secret"
    secrets = {secret, b"k"}
    raw_id = bytes(range(100, 124))
    cookie = b"eyJhIjoxfQ.ZVPxAA.njuUsaCugTIOn_G8r5TAhwpI-Yw"
    cookie_key = dict(derived(secret))["derived key (cookie-session)"]
    planted = {
        "raw secret": b"INFO key=" + secret,
        "hex secret": b"k=" + secret.hex().encode(),
        "base64 secret": b"k=" + base64.b64encode(secret),
        "byte-list secret": b"k=[" + b", ".join(str(b).encode() for b in secret) + b"]",
        "derived hex": b"derived " + cookie_key.hex().encode(),
        "derived base64url": b"derived " + base64.urlsafe_b64encode(cookie_key).rstrip(b"="),
        "derived raw": b"derived " + cookie_key,
        "cookie": b"DEBUG cookie=" + cookie,
        "quoted cookie": b'value="' + cookie + b'"',
        "id base64url": b"id " + base64.urlsafe_b64encode(raw_id).rstrip(b"="),
        "id base64": b"id " + base64.b64encode(raw_id),
        "id hex": b"id " + raw_id.hex().encode(),
        "id byte list": b"id " + str(list(raw_id)).encode(),
        "store key hex": b"key " + hashlib.sha256(raw_id).hexdigest().encode(),
    }
    for name, line in planted.items():
        found = scan(line, secrets)
        assert found, f"self-test: the scan missed a planted leak: {name}"
    clean = (b"2026-11-30T12:00:00Z DEBUG flagon::engine::cookie_mode: session cookie rejected; "
             b"trying the next one or starting empty reason=bad signature position=0\n"
             b"INFO flagon::store: StoreKey(1a2b3c4d..) swept 3 sessions; k=1\n"
             b"WARN the session secret key is only 1 bytes: use at least 32 random bytes\n")
    assert not scan(clean, secrets), f"self-test: false positives {scan(clean, secrets)}"
    print(f"log-leak scan self-test: {len(planted)} planted leaks found, a clean log passes")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("log", nargs="?")
    parser.add_argument("--repo", default=str(Path(__file__).resolve().parents[2]))
    parser.add_argument("--self-test", action="store_true")
    parser.add_argument("--min-lines", type=int, default=1000,
                        help="fail when the log is shorter: a capture that caught nothing proves nothing")
    args = parser.parse_args()
    if args.self_test:
        self_test()
        return
    log = Path(args.log).read_bytes()
    secrets = test_secrets(Path(args.repo))
    lines = log.count(b"\n")
    flagon_lines = log.count(b" flagon::")
    findings = scan(log, secrets)
    print(f"log-leak scan: {lines} log lines ({flagon_lines} from flagon), "
          f"{len(secrets)} test secrets x {len(needles(secrets))} encoded forms, "
          f"{len(findings)} findings")
    kinds: dict[str, int] = {}
    for _, what, _ in findings:
        kinds[what] = kinds.get(what, 0) + 1
    for what, n in sorted(kinds.items(), key=lambda kv: -kv[1]):
        print(f"  {n} x {what}")
    for number, what, excerpt in findings[:30]:
        print(f"  line {number}: {what}: {redact(excerpt)}")
    if lines < args.min_lines or flagon_lines == 0:
        print(f"log-leak scan: only {lines} lines captured ({flagon_lines} from flagon); "
              "the capture did not work")
        sys.exit(2)
    if findings:
        sys.exit(1)


if __name__ == "__main__":
    main()
