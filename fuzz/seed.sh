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
print(f"seeded from {count} vector cookies into {out}")
PY
