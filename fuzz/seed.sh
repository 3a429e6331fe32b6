#!/usr/bin/env bash
# Builds fuzz/corpus/<target>/ from the Flask vectors (tests/flask/vectors.json) plus a
# few hand-made hostile inputs. The corpus is git-ignored; rerun this after a clone.
# Needs python3 (standard library only). Existing corpus files are kept.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
vectors="$here/../tests/flask/vectors.json"
exec python3 - "$vectors" "$here/corpus" <<'PY'
import base64, hashlib, json, os, struct, sys, zlib

vectors, out = sys.argv[1], sys.argv[2]
NOW = 1_700_000_100


def put(target, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def b64d(seg):
    return base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4))


def signed(mode, body, age=100):
    # check_signed's layout: flags byte, 8-byte big-endian age, body
    return bytes([mode]) + struct.pack(">Q", age) + body


count = 0
for v in json.load(open(vectors, encoding="utf-8")):
    cookie = v.get("cookie")
    if not cookie:
        continue
    count += 1
    raw = cookie.encode("utf-8", "surrogatepass")
    put("decode_raw", raw)
    parts = cookie.rsplit(".", 2)
    if len(parts) != 3:
        continue
    payload = parts[0]
    put("decode_signed", signed(0, payload.encode("utf-8", "surrogatepass")))
    try:
        if payload.startswith("."):
            stream = b64d(payload[1:])
            put("decode_signed", signed(3, stream))
            body = zlib.decompress(stream)
        else:
            body = b64d(payload)
    except Exception:
        continue
    put("decode_signed", signed(1, body))
    put("decode_signed", signed(2, body))
    put("json_parse", body)
    put("decode_sealed", b"\x01\x00" + body)

# Hand-made hostile inputs: deep nesting, huge numbers, a zlib bomb, tag shapes.
hostile = [
    b'{"a":' + b"[" * 200 + b"]" * 200 + b"}",
    b'{"a":' + b'{"b":' * 127 + b"1" + b"}" * 128,
    b'{"n":' + b"9" * 4300 + b"}",
    b'{"n":-' + b"9" * 4301 + b"}",
    b'{"f":1e400,"g":-1e-400,"h":NaN,"i":-Infinity}',
    b'{"s":"\\ud83d\\ude00\\ud800"}',
    b'{"d":{" d":"Fri, 31 Dec 9999 23:59:59 -2359"}}',
    b'{"d":{" d":"Mon, 01 Jan 0100 00:00:00 +0100"}}',
    b'{" di":{" di__":{" di":{" t__":[1]}}}}',
    b'{"b":{" b":"AAH+/w=="},"u":{" u":"urn:uuid:12345678-1234-5678-1234-567812345678"}}',
]
for text in hostile:
    put("json_parse", text)
    put("decode_signed", signed(1, text))
bomb = zlib.compress(b'{"a":"' + b"a" * 1_000_000 + b'"}', 9)
put("decode_signed", signed(3, bomb))
put("decode_signed", signed(3, zlib.compress(b"{}") + b"JUNK"))
put("decode_signed", signed(5, b"{}", age=0))
put("decode_signed", signed(5, b"{}", age=2**64 - 1))
# decode_sealed: byte 0 even = a raw value, odd = position byte + JSON to seal.
put("decode_sealed", b"\x00" + b"A" * 80)
put("decode_sealed", b"\x00" + b"AQ" + b"A" * 70)
put("decode_sealed", b"\x01\x07{}")
# tagged_roundtrip reads `arbitrary` bytes: a few shapes to start from.
for i in range(8):
    put("tagged_roundtrip", bytes(range(i * 32, i * 32 + 32)))

# cookie_header: selector byte 0 is the name `session`; fields split on newlines.
headers = [
    "a=1; session=v; b=2", "session=A; session=B", "=session=x\n\"session\"=y",
    " \tsession =  \"v\" \t", "junk; o=%E0%A4%A; session=v", "$Version=1; session=\"x\"",
]
for text in headers:
    put("cookie_header", b"\x00" + text.encode())
put("cookie_header", b"\x00" + ("\u00a0session=x; \u2000session=y").encode())
for v in json.load(open(vectors, encoding="utf-8")):
    if v.get("cookie") and v.get("kind") == "valid":
        put("cookie_header", b"\x00session=" + v["cookie"].encode("utf-8", "surrogatepass"))
        break

# set_cookie: flags, 8-byte expiry, then name, domain, path, value (length-prefixed).
def cookie_case(flags, expires, *chunks):
    data = bytes([flags]) + struct.pack(">Q", expires)
    for c in chunks:
        data += bytes([len(c)]) + c
    return data
put("set_cookie", cookie_case(2, 0, b"session", b"", b"/", b"eyJhIjoxfQ.ZVPxAA.sig"))
put("set_cookie", cookie_case(1 | 2 | 4 | 8 | 16 | 64, NOW, b"sid", b".example.com:8080", b"/app x", b"v"))
put("set_cookie", cookie_case(128 | 1 | 2 | 16, 2**64 - 1, b"\x01", b"", b"/", b"abc"))

# store_record: 0 value text, 1 Redis hash (8-byte now, then fields), 2 row times.
for text in [b"1", b"\"s\"", b'{" t":[1,2]}', b'{" b":"AAE="}', b"NaN", b"[[[]]]"]:
    put("store_record", b"\x00" + text)
def hash_case(now, *pairs):
    data = b"\x01" + struct.pack(">Q", now)
    for kind, field, value in pairs:
        data += bytes([kind]) + (bytes([len(field)]) + field if kind in (3, 5) else b"")
        data += bytes([len(value)]) + value
    return data
put("store_record", hash_case(50, (0, b"", b"5"), (1, b"", b"100"), (3, b"a", b"1")))
put("store_record", hash_case(50, (0, b"", b"5"), (1, b"", b"100"), (2, b"", b"1")))
put("store_record", b"\x02" + struct.pack(">q", -1))

# session_id: 0 raw id cookie, 1 id + time (+ a byte to change).
put("session_id", b"\x00" + b"A" * 32 + b".ZVPxAA." + b"A" * 27)
put("session_id", b"\x01" + bytes(range(24)) + struct.pack(">Q", NOW) + b"\x05\x01")
print(f"seeded from {count} vector cookies into {out}")
PY
