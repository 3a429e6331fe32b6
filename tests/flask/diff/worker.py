"""Batch side of the differential tests: one process per Flask version and phase.

Reads and writes JSON lines, so ten thousand cases cost one interpreter start:

    worker.py gen --n N --seed S        sessions written by Flask's own session interface:
                                        {"cookie", "tagged", "timestamp"} per line
    worker.py load < cookies.jsonl      each {"cookie"} opened by Flask's session interface:
                                        {"outcome", "tagged", "resigned"} per line
    worker.py corpus --n N --seed S     malformed and crafted inputs with Flask's verdict:
                                        {"family", "value" | "header", "outcome", "tagged"}
    worker.py floats --n N --seed S     random floats as `json.dumps` writes them:
                                        {"bits" (the IEEE 754 bits), "json"}

Common options: --secret (the app's SECRET_KEY), --now (Unix seconds: the fixed clock
itsdangerous reads for signing and for ages), --max-age (PERMANENT_SESSION_LIFETIME).

"outcome" is what Flask's `open_session` does with the cookie: "accept" (the session is
used), "reject" (BadSignature or expiry: a new empty session) or "error" (any other
exception: Flask answers 500). "tagged" is the accepted session as Flask's tagged JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import random
import struct
import sys
import uuid
import zlib

import flask
from flask import Flask
from flask.sessions import SecureCookieSession, session_json_serializer
from itsdangerous import BadSignature, TimestampSigner
from itsdangerous.encoding import base64_encode
from markupsafe import Markup

_NOW = [0]
# itsdangerous reads the time through this one method, for signing and for ages.
TimestampSigner.get_timestamp = lambda self: _NOW[0]

TAG_KEYS = [" t", " di", " b", " m", " u", " d", " t__", " di__", " x", "$", " "]


def make_app(secret: str, max_age: int) -> Flask:
    app = Flask("flagon-diff")
    app.secret_key = secret
    app.config["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(seconds=max_age)
    return app


# ----------------------------------------------------------------------------- values


def rand_str(r: random.Random) -> str:
    pools = [
        "abcdefghijklmnopqrstuvwxyz",
        "ABCXYZ0123456789 _-.",
        "\"\\/<>&'\x00\x01\x1f\x7f\t\n\r",
        "\u00e9\u00ff\u0100\u07ff\u0800\u2028\u2029\ufeff\ufffd\uffff",
        "\U0001f600\U00010000\U0010ffff",
    ]
    n = r.choice([0, 1, 2, 5, 12, 40])
    return "".join(r.choice(r.choice(pools)) for _ in range(n))


def rand_key(r: random.Random) -> str:
    return r.choice(TAG_KEYS) if r.random() < 0.25 else rand_str(r)


def rand_float(r: random.Random) -> float:
    if r.random() < 0.4:
        return r.choice(
            [math.nan, math.inf, -math.inf, -0.0, 0.0, 0.1, 1e16, 1e-7, 1e22, 5e-324,
             1.7976931348623157e308, 2.2250738585072014e-308, 123456789.125, -1.5]
        )
    return struct.unpack("<d", r.getrandbits(64).to_bytes(8, "little"))[0]


def rand_int(r: random.Random) -> int:
    kind = r.randrange(3)
    if kind == 0:
        return r.randint(-1000, 1000)
    if kind == 1:
        return r.randint(-(2**63), 2**63 - 1)
    digits = r.randint(19, 400)
    return r.choice([1, -1]) * r.randint(10 ** (digits - 1), 10**digits - 1)


def rand_datetime(r: random.Random) -> dt.datetime:
    # Four-digit years: an HTTP date has no other kind.
    seconds = r.randint(-30_610_224_000, 253_370_764_799)  # 1000-01-01 .. 9998-12-31
    value = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=seconds)
    value = value.replace(microsecond=r.choice([0, r.randrange(1_000_000)]))
    choice = r.randrange(3)
    if choice == 0:
        return value
    if choice == 1:
        return value.replace(tzinfo=None)
    minutes = r.randint(-23 * 60, 23 * 60)
    try:
        return value.astimezone(dt.timezone(dt.timedelta(minutes=minutes)))
    except OverflowError:
        return value


def rand_value(r: random.Random, depth: int):
    kinds = 15 if depth < 4 else 12
    k = r.randrange(kinds)
    if k == 0:
        return None
    if k == 1:
        return r.random() < 0.5
    if k in (2, 3):
        return rand_int(r)
    if k == 4:
        return rand_float(r)
    if k in (5, 6):
        return rand_str(r)
    if k == 7:
        return r.randbytes(r.choice([0, 1, 3, 16, 40]))
    if k == 8:
        return Markup(rand_str(r))
    if k == 9:
        return uuid.UUID(int=r.getrandbits(128))
    if k in (10, 11):
        return rand_datetime(r)
    if k == 12:
        return [rand_value(r, depth + 1) for _ in range(r.randrange(5))]
    if k == 13:
        return tuple(rand_value(r, depth + 1) for _ in range(r.randrange(5)))
    return {rand_key(r): rand_value(r, depth + 1) for _ in range(r.randrange(5))}


def rand_session(r: random.Random) -> dict:
    session = {rand_key(r): rand_value(r, 1) for _ in range(r.randrange(1, 6))}
    if r.random() < 0.2:
        session["_permanent"] = True
    return session


# ------------------------------------------------------------------------ Flask's side


def write_cookie(app: Flask, data: dict) -> str | None:
    """The cookie value Flask's save_session sends for `data` (None if it sends none)."""
    interface = app.session_interface
    with app.test_request_context():
        session = SecureCookieSession(data)
        session.modified = True
        response = app.response_class()
        interface.save_session(app, session, response)
        for header in response.headers.getlist("Set-Cookie"):
            name, _, rest = header.partition("=")
            if name == app.config["SESSION_COOKIE_NAME"]:
                return rest.split(";", 1)[0]
    return None


def tagged(app: Flask, data: dict) -> str:
    with app.app_context():
        return session_json_serializer.dumps(dict(data))


def open_value(app: Flask, value: str):
    """Flask's open_session on a cookie value: (outcome, tagged JSON or error name)."""
    interface = app.session_interface
    serializer = interface.get_signing_serializer(app)
    if not value:
        return "reject", None
    max_age = int(app.permanent_session_lifetime.total_seconds())
    try:
        with app.app_context():
            data = serializer.loads(value, max_age=max_age)
            session = interface.session_class(data)
            return "accept", session_json_serializer.dumps(dict(session))
    except BadSignature:
        return "reject", None
    except Exception as e:  # Flask lets these escape: HTTP 500
        return "error", type(e).__name__


def open_header(app: Flask, header: str):
    """Flask's open_session on a whole Cookie header (Werkzeug picks the value)."""
    with app.test_request_context(headers={"Cookie": header}):
        value = flask.request.cookies.get(app.config["SESSION_COOKIE_NAME"])
    return open_value(app, value or "")


# ----------------------------------------------------------------------------- phases


def gen(app: Flask, args, out) -> None:
    r = random.Random(args.seed)
    written = 0
    while written < args.n:
        data = rand_session(r)
        _NOW[0] = args.now - r.randrange(args.max_age + 1)
        cookie = write_cookie(app, data)
        # Keep to what browsers store: flagon reads at most 4096 bytes by default.
        if cookie is None or len(cookie) > 4000:
            continue
        out.write(json.dumps({"cookie": cookie, "tagged": tagged(app, data),
                              "timestamp": _NOW[0]}) + "\n")
        written += 1


def load(app: Flask, args, out) -> None:
    for line in sys.stdin:
        case = json.loads(line)
        _NOW[0] = args.now
        outcome, text = open_value(app, case["cookie"])
        resigned = None
        if outcome == "accept":
            _NOW[0] = case["timestamp"]
            with app.app_context():
                data = app.session_interface.get_signing_serializer(app).loads(case["cookie"])
            resigned = write_cookie(app, data)
        out.write(json.dumps({"outcome": outcome, "tagged": text, "resigned": resigned}) + "\n")


def b64(data: bytes) -> str:
    return base64_encode(data).decode("ascii")


def sign_raw(app: Flask, payload: str, timestamp_segment: str | None = None,
             salt: str | None = None, secret: str | None = None) -> str:
    """A key holder's signature over any payload segment (and any timestamp segment)."""
    serializer = app.session_interface.get_signing_serializer(app)
    if salt is not None or secret is not None:
        from itsdangerous import URLSafeTimedSerializer
        serializer = URLSafeTimedSerializer(
            secret or app.secret_key, salt=salt or "cookie-session",
            serializer=session_json_serializer,
            signer_kwargs={"key_derivation": "hmac", "digest_method": __import__("hashlib").sha1})
    signer = serializer.make_signer()
    if timestamp_segment is None:
        return signer.sign(payload.encode("latin-1")).decode("latin-1")
    signed = (payload + "." + timestamp_segment).encode("latin-1")
    return (signed + b"." + signer.get_signature(signed)).decode("latin-1")


def plain(text: bytes) -> str:
    return b64(text)


def packed(text: bytes, tail: bytes = b"") -> str:
    return "." + b64(zlib.compress(text) + tail)


def ts_segment(t: int) -> str:
    return b64(t.to_bytes((t.bit_length() + 7) // 8, "big")) if t else ""


NONALPHABET = ["!", "=", "==", "*", " ", "+", "/", "~", "\u00e9", "\t", "%", "$"]


def mutate(r: random.Random, cookie: str):
    """One mutation of a valid cookie: (family, value)."""
    kind = r.randrange(9)
    payload, ts, sig = cookie.rsplit(".", 2)
    if kind == 0:
        return "truncated", cookie[: r.randrange(len(cookie))]
    if kind == 1:
        i = r.randrange(len(cookie))
        c = chr(ord(cookie[i]) ^ (1 << r.randrange(7)))
        return "bit-flip", cookie[:i] + c + cookie[i + 1:]
    if kind == 2:
        return "case-changed", r.choice([cookie.upper(), cookie.lower(), cookie.swapcase()])
    if kind == 3:
        return "signature-junk", cookie + r.choice(NONALPHABET) * r.randint(1, 3)
    if kind == 4:
        i = r.randrange(len(sig) + 1)
        return "signature-junk", f"{payload}.{ts}.{sig[:i]}{r.choice(NONALPHABET)}{sig[i:]}"
    if kind == 5:
        table = str.maketrans({"-": "+", "_": "/"})
        alt = sig.translate(table)
        if alt == sig:
            alt = sig + "="
        return "signature-std-alphabet", f"{payload}.{ts}.{alt}"
    if kind == 6:
        # the two unused low bits of the signature's last character
        last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".index(sig[-1])
        flipped = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[
            last ^ r.choice([1, 2, 3])]
        return "signature-stray-bits", f"{payload}.{ts}.{sig[:-1]}{flipped}"
    if kind == 7:
        shapes = [f"{payload}.{ts}.", f"{payload}..{sig}", f"..{sig}", f"{payload}.{sig}",
                  f"{payload}.{ts}.{sig}.", f"x.{payload}.{ts}.{sig}", f".{cookie}", payload,
                  f"{payload}.{ts}", ".", ""]
        return "separators", r.choice(shapes)
    i = r.randrange(len(cookie) + 1)
    return "inserted-byte", cookie[:i] + chr(r.randrange(32, 127)) + cookie[i:]


def crafted(app: Flask, r: random.Random, now: int, max_age: int):
    """One validly signed payload Flask never writes: (family, value)."""
    kind = r.randrange(20)
    good = json.dumps({"a": r.randrange(100)}).encode()
    if kind == 0:
        tail = r.choice([b"\x00", b"junk", zlib.compress(b"{}")])
        return "zlib-trailing-bytes", sign_raw(app, packed(good, tail))
    if kind == 1:
        bad = r.choice([b"{", b"{'a':1}", b"[1,]", b"nul", b"{\"a\":}", b"\"\\x\"", b""])
        return "invalid-json", sign_raw(app, plain(bad))
    if kind == 2:
        depth = r.choice([r.randint(1, 127), 128, 129, r.randint(130, 400)])
        return "deep-nesting", sign_raw(app, plain(b'{"a":' + b"[" * (depth - 1)
                                                  + b"]" * (depth - 1) + b"}"))
    if kind == 3:
        n = r.choice([2**63, -(2**63) - 1, 2**64, 10**r.randint(19, 4000)])
        return "big-integer", sign_raw(app, plain(f'{{"n":{n}}}'.encode()))
    if kind == 4:
        lit = r.choice([b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e400", b"1E5",
                        b"0.1e-999", b"-0", b"1.0"])
        return "float-literals", sign_raw(app, plain(b'{"f":' + lit + b"}"))
    if kind == 5:
        esc = r.choice([b"\\ud800", b"\\udfff", b"\\ud800x", b"\\udc00\\ud800"])
        return "lone-surrogate", sign_raw(app, plain(b'{"s":"' + esc + b'"}'))
    if kind == 6:
        top = r.choice([b'[["a",1]]', b"[]", b"[1]", b'"s"', b"1", b"null", b"true",
                        b'[["a",1],["b",2]]'])
        return "top-level-not-object", sign_raw(app, plain(top))
    if kind == 7:
        return "future-timestamp", sign_raw(app, plain(good), ts_segment(now + r.randint(1, 10**9)))
    if kind == 8:
        age = r.choice([max_age, max_age + 1, max_age - 1, r.randint(max_age + 2, now)])
        return "age-boundary", sign_raw(app, plain(good), ts_segment(now - age))
    if kind == 9:
        seg = r.choice(["", "AAAAAAAAAAAA", "AQAAAAAAAAAA", b64(b"\x00" * 3 + (now - 5).to_bytes(4, "big")),
                        b64((now - 5).to_bytes(9, "big"))])
        return "timestamp-shape", sign_raw(app, plain(good), seg)
    if kind == 10:
        text = plain(good)
        shape = r.choice([text + "=", text + "==", text[:-1] + "+" if text else "+",
                          "!" + text, text + "!"])
        return "payload-lenient-base64", sign_raw(app, shape)
    if kind == 11:
        text = plain(good)
        i = r.randrange(len(text) + 1)
        return "payload-dots", sign_raw(app, r.choice([text[:i] + "." + text[i:], ".." + text,
                                                       "." + text[:i] + "." + text[i:]]))
    if kind == 12:
        stream = zlib.compress(good)
        broken = r.choice([stream[:-1], stream[2:], stream[:-4] + b"\x00\x00\x00\x00",
                           b"\x1f\x8b" + stream, b""])
        return "zlib-broken", sign_raw(app, "." + b64(broken))
    if kind == 13:
        raw = r.choice([b'{"a":"\xff"}', b'{"a":"\xc3"}', b"\xfe\xff{}", b'{"\xed\xa0\x80":1}'])
        return "invalid-utf8", sign_raw(app, r.choice([plain(raw), packed(raw)]))
    if kind == 14:
        bad = r.choice([b'{" t":1}', b'{" u":"zz"}', b'{" b":"!!"}', b'{" b":"YQ"}',
                        b'{" d":1}', b'{" m":1}', b'{" di":1}', b'{" t":{"a":1}}'])
        return "bad-tag-shape", sign_raw(app, plain(b'{"v":' + bad + b"}"))
    if kind == 15:
        ok = r.choice([b'{" x":1}', b'{" t":[1],"y":2}', b'{"v":{" d":"not a date"}}',
                       b'{"v":{" d":"Sun, 06 Nov 1994 08:49:37 GMT"}}',
                       b'{"v":{" d":"Mon, 01 Jan 0050 00:00:00 GMT"}}',
                       b'{"v":{" b":"AAEC"}}', b'{"v":{" u":"12345678123456781234567812345678"}}'])
        return "tags-parity", sign_raw(app, plain(ok))
    if kind == 16:
        dup = r.choice([b'{"a":1,"a":2}', b'{"a":{"b":1,"b":[2]},"a":3}', b'{"a":1,"b":2,"a":{}}'])
        return "duplicate-keys", sign_raw(app, r.choice([plain(dup), packed(dup)]))
    if kind == 17:
        ws = r.choice([b' { "a" : 1 } ', b'{"a":"\xc3\xa9"}', b'{\n"z":1,"a":2}', b'{"a":1.50}'])
        return "json-other-writers", sign_raw(app, r.choice([plain(ws), packed(ws)]))
    if kind == 18:
        if r.random() < 0.5:
            return "other-salt", sign_raw(app, plain(good), salt=r.choice(["itsdangerous.Signer", "reset"]))
        return "other-key", sign_raw(app, plain(good), secret="not the app's secret")
    return "compressed-parity", sign_raw(app, packed(good))


def header_case(app: Flask, r: random.Random, cookie: str):
    """A whole Cookie header with our cookie among others: (family, header)."""
    bad = r.choice(["garbage", cookie[:-2] + "AA", "e30.AAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAA"])
    kind = r.randrange(4)
    if kind == 0:
        return "header-duplicate-bad-first", f"session={bad}; session={cookie}"
    if kind == 1:
        return "header-duplicate-good-first", f"session={cookie}; session={bad}"
    if kind == 2:
        return "header-neighbours", f'a=1; other=%E0%A4%A; session="{cookie}"; z=2'
    return "header-lookalike-names", r.choice(
        [f"=session={cookie}", f"SESSION={cookie}", f"xsession={cookie}", f"session ={cookie}"])


def corpus(app: Flask, args, out) -> None:
    r = random.Random(args.seed)
    valid = []
    while len(valid) < 200:
        _NOW[0] = args.now - r.randrange(args.max_age)
        cookie = write_cookie(app, rand_session(r))
        if cookie and len(cookie) < 3000:
            valid.append(cookie)
    _NOW[0] = args.now
    for i in range(args.n):
        pick = i % 10
        if pick < 5:
            family, value = mutate(r, r.choice(valid))
        elif pick < 9:
            family, value = crafted(app, r, args.now, args.max_age)
        else:
            family, header = header_case(app, r, r.choice(valid))
            outcome, text = open_header(app, header)
            out.write(json.dumps({"family": family, "header": header,
                                  "outcome": outcome, "tagged": text}) + "\n")
            continue
        outcome, text = open_value(app, value)
        out.write(json.dumps({"family": family, "value": value, "outcome": outcome,
                              "tagged": text}) + "\n")


def floats(app: Flask, args, out) -> None:
    """Random floats with Python's repr, half of them where shortest-digit ties occur."""
    r = random.Random(args.seed)
    for _ in range(args.n):
        if r.random() < 0.5:
            x = rand_float(r)
        else:
            x = math.ldexp(r.getrandbits(53) | (1 << 52), r.randint(-8, 12))
        out.write(json.dumps({"bits": struct.unpack("<Q", struct.pack("<d", x))[0],
                              "json": json.dumps(x)}) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("phase", choices=["gen", "load", "corpus", "floats", "version"])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--secret", default="differential secret")
    parser.add_argument("--now", type=int, default=1_700_000_100)
    parser.add_argument("--max-age", type=int, default=2_678_400)
    args = parser.parse_args()
    out = sys.stdout
    if args.phase == "version":
        from importlib.metadata import version
        out.write(json.dumps({name: version(name) for name in
                              ["flask", "itsdangerous", "werkzeug", "markupsafe"]}) + "\n")
        return
    app = make_app(args.secret, args.max_age)
    _NOW[0] = args.now
    {"gen": gen, "load": load, "corpus": corpus, "floats": floats}[args.phase](app, args, out)
    out.flush()


if __name__ == "__main__":
    main()
