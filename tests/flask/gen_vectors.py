#!/usr/bin/env python3
"""Writes tests/flask/vectors.json: Flask session cookies and what real Flask makes of them.

    tests/flask/setup.sh                          # once: .venv with the pinned Flask stack
    .venv/bin/python tests/flask/gen_vectors.py   # rewrites vectors.json (same bytes every run)
    .venv/bin/python tests/flask/gen_vectors.py --check   # exit 1 if vectors.json is stale,
                                                          # 3 if the stack is not the pinned one

Every cookie is written by the real Flask stack (or, for the "crafted" kind, signed by
the real itsdangerous signer over a hand-made payload), and every expectation is what
real itsdangerous and a real Flask request did with it. The clock itsdangerous reads is
fixed, so output depends only on the pinned package versions and the zlib build.

Before writing anything the generator also re-derives each valid cookie with the short,
independent implementation in ``Spec`` below and refuses to continue on any mismatch:
a check that the format description flagon follows is complete.

The case list lives in vector_cases.py; the schema is described in README.md there.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import logging
import sys
import warnings
import zlib
from importlib.metadata import version as installed_version
from pathlib import Path

import flask
from itsdangerous import BadSignature, TimestampSigner

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import markers  # noqa: E402
from peer_app import make_app  # noqa: E402

SALT = "cookie-session"
MAX_AGE = 31 * 86400  # Flask's default PERMANENT_SESSION_LIFETIME
T0 = 1_700_000_000  # 2023-11-14T22:13:20Z

# ---------------------------------------------------------------------------------------
# A fixed clock: itsdangerous asks TimestampSigner.get_timestamp() both when signing and
# when computing a cookie's age, so replacing that one method pins both.
# ---------------------------------------------------------------------------------------

_NOW = [T0]
TimestampSigner.get_timestamp = lambda self: _NOW[0]


def at(unix: int) -> None:
    _NOW[0] = unix


def raw_key(key) -> bytes:
    return key if isinstance(key, bytes) else key.encode("utf-8")


def text_key(key):
    try:
        return raw_key(key).decode("utf-8")
    except UnicodeDecodeError:
        return None


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


# ---------------------------------------------------------------------------------------
# Independent model of the format (FORMAT.md §2-§5), used only as a cross-check.
# ---------------------------------------------------------------------------------------


class Spec:
    @staticmethod
    def derived_key(secret: bytes) -> bytes:
        return hmac.new(secret, SALT.encode(), hashlib.sha1).digest()

    @staticmethod
    def payload(tagged_json: str) -> str:
        raw = tagged_json.encode("utf-8")
        packed = zlib.compress(raw)
        return "." + b64url(packed) if len(raw) - len(packed) >= 2 else b64url(raw)

    @staticmethod
    def timestamp(unix: int) -> str:
        return b64url(unix.to_bytes(8, "big").lstrip(b"\0"))

    @classmethod
    def signature(cls, secret: bytes, signed: str) -> str:
        mac = hmac.new(cls.derived_key(secret), signed.encode("ascii"), hashlib.sha1)
        return b64url(mac.digest())


def split_cookie(cookie: str) -> tuple[str, str, str]:
    signed, _, sig = cookie.rpartition(".")
    payload, _, ts = signed.rpartition(".")
    return payload, ts, sig


# ---------------------------------------------------------------------------------------
# Talking to the real stack.
# ---------------------------------------------------------------------------------------


class Peer:
    """One Flask app configured like a reader or writer of a vector."""

    def __init__(self, secret, fallbacks=(), max_age=MAX_AGE):
        self.app = make_app(secret, fallbacks, max_age)
        self.app.logger.disabled = True  # crafted vectors make it log 500s on purpose
        self.max_age = max_age
        self.pending = {}
        self.app.add_url_rule("/_store", "_store", self._store)

    def _store(self):
        flask.session.update(self.pending)
        return ""

    def serializer(self):
        return self.app.session_interface.get_signing_serializer(self.app)

    def dump(self, data: dict, when: int) -> tuple[str, str]:
        """(cookie, tagged JSON) as the session interface makes them at ``when``.

        Inside an app context, as in a request: the app's JSON provider sorts the keys."""
        at(when)
        with self.app.app_context():
            return self.serializer().dumps(data), self.app.session_interface.serializer.dumps(data)

    def set_cookie(self, data: dict, when: int) -> tuple[str, str, bool]:
        """Stores ``data`` in a real request: (cookie, Set-Cookie header, size warning)."""
        at(when)
        self.pending = data
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            resp = self.app.test_client(use_cookies=False).get("/_store")
        (header,) = resp.headers.getlist("Set-Cookie")
        value = header.split(";", 1)[0].partition("=")[2]
        return value, header, any("too large" in str(w.message) for w in seen)

    def loads(self, cookie: str, now: int) -> dict:
        """itsdangerous' verdict, with the exception class on failure."""
        at(now)
        try:
            with self.app.app_context():
                data, when = self.serializer().loads(cookie, max_age=self.max_age, return_timestamp=True)
        except Exception as exc:  # noqa: BLE001 - some crafted inputs raise non-BadData errors
            return {"ok": False, "exc": exc}
        return {"ok": True, "value": data, "timestamp": int(when.timestamp())}

    def view(self, cookie: str, now: int) -> tuple[int, object]:
        """What a real Flask view saw with this cookie: (status, session as markers)."""
        at(now)
        client = self.app.test_client(use_cookies=False)
        resp = client.get("/session", headers={"Cookie": f"session={cookie}"})
        if resp.status_code != 200:
            return resp.status_code, None
        return 200, json.loads(resp.get_data(as_text=True))


def expectation(reader: Peer, cookie: str, now: int) -> dict:
    its = reader.loads(cookie, now)
    status, seen = reader.view(cookie, now)
    exc = its.get("exc")
    out = {
        "itsdangerous_ok": its["ok"],
        "itsdangerous_error": type(exc).__name__ if exc else None,
        "itsdangerous_message": str(exc) if exc else None,
        "decoded": markers.dump(its["value"]) if its["ok"] else None,
        "decoded_timestamp": its.get("timestamp"),
        "flask_status": status,
        "flask_session": seen,
        "flask_outcome": "error_500" if status != 200 else "session" if its["ok"] else "empty",
    }
    # The two views of the same cookie must tell one story.
    if exc is not None and isinstance(exc, BadSignature):
        assert (status, seen) == (200, {}), (cookie, status, seen)
    elif exc is not None:
        assert status == 500, (cookie, status)
    elif isinstance(its["value"], dict) and status == 200:
        assert seen == markers.dump(its["value"]), (cookie, seen)
    return out


def sign_payload(secret, payload_segment: str, when: int, salt=SALT, **kw) -> str:
    """The real itsdangerous signer over an arbitrary payload segment."""
    at(when)
    options = {"key_derivation": "hmac", "digest_method": hashlib.sha1, **kw}
    return TimestampSigner(secret, salt=salt, **options).sign(payload_segment).decode("ascii")


def signature_over(secret, signed_text: str) -> str:
    signer = TimestampSigner(secret, salt=SALT, key_derivation="hmac", digest_method=hashlib.sha1)
    return signer.get_signature(signed_text).decode("ascii")


# ---------------------------------------------------------------------------------------
# Building vector records.
# ---------------------------------------------------------------------------------------


class Catalogue:
    def __init__(self, key):
        self.key = key
        self.vectors: list[dict] = []

    def named(self, name: str) -> dict:
        return next(v for v in self.vectors if v["name"] == name)

    def _common(self, name, kind, description, secret, fallbacks, signed_at, verify_at, max_age):
        assert all(v["name"] != name for v in self.vectors), f"duplicate vector {name}"
        return {
            "name": name,
            "kind": kind,
            "description": description,
            "secret_key": text_key(secret),
            "secret_key_hex": raw_key(secret).hex(),
            "fallback_keys": [text_key(k) for k in fallbacks],
            "fallback_keys_hex": [raw_key(k).hex() for k in fallbacks],
            "salt": SALT,
            "key_derivation": "hmac",
            "digest": "sha1",
            "signed_at": signed_at,
            "verify_at": verify_at,
            "max_age": max_age,
        }

    def valid(self, name, data, description, *, secret=None, fallbacks=(), signer=None,
              signed_at=T0, verify_at=None, max_age=MAX_AGE):
        """A cookie Flask wrote. ``secret``/``fallbacks`` configure the reader; ``signer``
        is the writer's SECRET_KEY when it differs from the reader's."""
        secret = self.key if secret is None else secret
        signer = secret if signer is None else signer
        verify_at = signed_at + 100 if verify_at is None else verify_at
        writer = Peer(signer, (), max_age)
        cookie, tagged = writer.dump(data, signed_at)
        header, too_big = None, False
        if data:
            via_response, full_header, too_big = writer.set_cookie(data, signed_at)
            assert via_response == cookie, name
            if not data.get("_permanent"):
                header = full_header  # a permanent one carries a wall-clock Expires
        payload, ts, sig = split_cookie(cookie)
        assert Spec.payload(tagged) == payload, name
        assert Spec.timestamp(signed_at) == ts, name
        assert Spec.signature(raw_key(signer), f"{payload}.{ts}") == sig, name

        vec = self._common(name, "valid", description, secret, fallbacks, signed_at, verify_at, max_age)
        vec.update(
            signing_key_hex=raw_key(signer).hex(),
            derived_key_hex=Spec.derived_key(raw_key(signer)).hex(),
            python_input=repr(data),
            tagged_json=tagged,
            compressed=payload.startswith("."),
            payload_segment=payload,
            timestamp_segment=ts,
            signature_segment=sig,
            cookie=cookie,
            set_cookie=header,
            flask_size_warning=too_big,
        )
        reader = Peer(secret, fallbacks, max_age)
        vec["expect"] = expectation(reader, cookie, verify_at)
        assert vec["expect"]["flask_outcome"] == "session", (name, vec["expect"])
        # What the reading app writes back when handed the decoded value.
        decoded = reader.loads(cookie, verify_at)["value"]
        re_cookie, re_tagged = reader.dump(decoded, signed_at)
        vec["reencoded_tagged_json"] = re_tagged
        vec["reencoded_cookie"] = re_cookie
        vec["roundtrip_stable"] = re_tagged == tagged
        self.vectors.append(vec)
        return vec

    def other(self, name, kind, description, cookie, outcome, *, secret=None, fallbacks=(),
              signed_at=None, verify_at=T0 + 100, max_age=MAX_AGE, extra=None):
        """Anything Flask did not write itself; ``outcome`` is asserted, not assumed."""
        secret = self.key if secret is None else secret
        vec = self._common(name, kind, description, secret, fallbacks, signed_at, verify_at, max_age)
        vec["cookie"] = cookie
        vec.update(extra or {})
        vec["expect"] = expectation(Peer(secret, fallbacks, max_age), cookie, verify_at)
        assert vec["expect"]["flask_outcome"] == outcome, (name, vec["expect"])
        self.vectors.append(vec)
        return vec

    def crafted(self, name, description, payload_segment, outcome, *, payload_text=None,
                signed_at=T0, verify_at=None, max_age=MAX_AGE):
        """A genuine signature over a payload made by hand."""
        verify_at = signed_at + 100 if verify_at is None else verify_at
        cookie = sign_payload(self.key, payload_segment, signed_at)
        extra = {"payload_segment": payload_segment}
        if payload_text is not None:
            extra["payload_text"] = payload_text
        return self.other(name, "crafted", description, cookie, outcome, signed_at=signed_at,
                          verify_at=verify_at, max_age=max_age, extra=extra)


def pinned_versions_installed() -> bool:
    for line in (HERE / "requirements.txt").read_text().splitlines():
        name, _, want = line.split("#", 1)[0].strip().partition("==")
        if name and installed_version(name) != want:
            return False
    return True


def render(vectors: list[dict]) -> str:
    return json.dumps(vectors, ensure_ascii=False, indent=1) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Generate tests/flask/vectors.json with real Flask.")
    parser.add_argument("--out", type=Path, default=HERE / "vectors.json")
    parser.add_argument("--check", action="store_true", help="compare with --out instead of writing")
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    import vector_cases

    cat = Catalogue(vector_cases.KEY)
    vector_cases.build(cat)
    text = render(cat.vectors)
    kinds: dict[str, int] = {}
    for v in cat.vectors:
        kinds[v["kind"]] = kinds.get(v["kind"], 0) + 1
    stack = ", ".join(f"{p} {installed_version(p)}" for p in ("flask", "itsdangerous", "werkzeug", "markupsafe"))
    summary = f"{len(cat.vectors)} vectors {kinds}; {stack}, zlib {zlib.ZLIB_RUNTIME_VERSION}"
    if args.check:
        if not pinned_versions_installed():
            print(f"cannot check: the stack differs from requirements.txt ({summary})")
            return 3
        same = args.out.exists() and args.out.read_text(encoding="utf-8") == text
        print(("up to date: " if same else "STALE: ") + summary)
        return 0 if same else 1
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}: {summary}")
    return 0


if __name__ == "__main__":
    # Run main() in the module vector_cases imports, so both share one pinned clock.
    import gen_vectors

    sys.exit(gen_vectors.main())
