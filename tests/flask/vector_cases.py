"""The cases gen_vectors.py turns into vectors.json.

Kinds: ``valid`` (Flask wrote the cookie), ``invalid`` (must be refused), ``lenient``
(non-canonical base64 that Flask still accepts), ``crafted`` (a genuine signature over a
payload Flask would never write). Names are stable identifiers: tests may refer to them.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import math
import random
import string
import uuid
import zlib
from collections import namedtuple

from markupsafe import Markup

from gen_vectors import MAX_AGE, T0, Peer, Spec, b64url, sign_payload, signature_over, split_cookie

KEY = "correct horse battery staple"
OLD_KEY = "previous key (rotated out)"
OLDER_KEY = "oldest key"
STRANGER_KEY = "some other application's key"
BYTES_KEY = b'_5#y2L"F4Q8z\n\xec]/'  # the example in Flask's docs: not UTF-8
UNICODE_KEY = "cl\u00e9-\U0001f511"
LONG_KEY = "k" * 100  # longer than SHA-1's 64-byte block: HMAC hashes it first
UTC = dt.timezone.utc
Point = namedtuple("Point", "x y")


def build(cat) -> None:
    rng = random.Random(20231114)
    valid_basics(cat)
    valid_types(cat)
    valid_size(cat, rng)
    valid_keys_and_time(cat)
    invalid(cat)
    lenient(cat)
    crafted(cat)


def valid_basics(cat) -> None:
    cat.valid("empty_session", {}, "An empty dict. Flask never sends one (an empty session is "
              "deleted or skipped), yet it signs and reads back fine.")
    cat.valid("classic_login", {"logged_in": True}, "What the classic login demo stores.")
    cat.valid("permanent_flag", {"_permanent": True, "user_id": 42},
              "session.permanent = True is just the key '_permanent' in the dict.")
    cat.valid("permanent_false", {"_permanent": False, "user_id": 42},
              "session.permanent = False keeps '_permanent': false in the cookie.")
    cat.valid("scalars", {
        "int": 42, "neg": -7, "zero": 0, "i64_max": 2**63 - 1, "i64_min": -(2**63),
        "float": 1.5, "float_whole": 1.0, "float_tiny": 1e-7, "float_1e16": 1e16,
        "float_1e15": 1e15, "float_0_0001": 0.0001, "neg_zero": -0.0, "pi": math.pi,
        "third": 1 / 3, "true": True, "false": False, "none": None, "str": "hello", "empty_str": "",
    }, "JSON scalars; floats in Python's shortest round-trip repr (1.0, -0.0, 1e-07, 1e+16).")
    cat.valid("floats_repr", {
        "f01": 0.1, "f02": 0.2 + 0.1, "f03": 1e-5, "f04": 0.00012, "f05": 1e-4, "f06": 123456789.0,
        "f07": 1e21, "f08": 1e22, "f09": 9007199254740993.0, "f10": 1.7976931348623157e308,
        "f11": 5e-324, "f12": 2.2250738585072014e-308, "f13": -1.5e-10, "f14": 100.0,
        "f15": 1234567890123456.7, "f16": 12345678901234567.0, "f17": 0.5, "f18": -2.0,
    }, "Python float repr edges: switch to exponent below 1e-4 and from 1e16, subnormals, max.")
    cat.valid("ints_beyond_i64", {"big": 2**70, "neg_big": -(2**64) - 1},
              "Python ints have no size limit; big ones are plain JSON digits.")
    cat.valid("ints_i64_edges", {
        "just_over": 2**63, "just_under": -(2**63) - 1, "u64_max": 2**64 - 1,
        "huge": 10**40 + 7, "neg_huge": -(10**40), "in_list": [2**100, -(2**100)],
    }, "Integers just outside the signed 64-bit range and far outside it.")
    cat.valid("non_finite_floats", {"nan": math.nan, "inf": math.inf, "ninf": -math.inf},
              "NaN and the infinities are written as the bare tokens NaN, Infinity, -Infinity.")
    cat.valid("non_finite_nested", {"l": [math.nan, 1.0, -math.inf], "t": (math.inf,),
                                    "d": {"x": math.nan}},
              "Non-finite floats inside a list, a tuple and a dict.")
    cat.valid("unicode", {
        "latin": "h\u00e9llo", "cjk": "\u65e5\u672c\u8a9e", "emoji": "\U0001f600\U0001f44d\U0001f3fd",
        "rtl": "\u05e9\u05dc\u05d5\u05dd", "\u043a\u043b\u044e\u0447": "\u0437\u043d\u0430\u0447",
    }, "Non-ASCII is written as lower-case \\u escapes; astral characters as surrogate pairs.")
    cat.valid("string_escapes", {
        "ctrl": "line\nbreak\ttab\rcr\bbs\fff\x00nul\x1fus\x7fdel", "quote": '"q" \\ /',
        "html": "</script><!-- & -->", "seps": "\u2028\u2029", "bom": "\ufeff",
    }, "Two-character escapes for quote, backslash, \\n \\r \\t \\b \\f; other controls and "
       "DEL as \\u00XX; '/' stays as is.")
    cat.valid("key_order", {
        "b": 1, "a": 2, "_permanent": False, "Z": 3, "aa": 4, "\u00e9": 5, "\U0001f600": 6,
        "\uff61": 7, "": 8, " ": 9, "10": 10, "9": 11,
    }, "Keys sorted by code point: '' < ' ' < '10' < '9' < 'Z' < '_' < 'a'; U+FF61 before "
       "U+1F600 (code points, not UTF-16 units).")
    cat.valid("nested", {
        "user": {"id": 7, "roles": ["admin", "dev"], "prefs": {"theme": "dark", "langs": ["en", "fr"]}},
        "cart": [{"sku": "A1", "qty": 2}, {"sku": "B2", "qty": 1}], "empty_list": [], "empty_dict": {},
        "deep": [[[[{"x": [None]}]]]],
    }, "Objects and arrays inside each other; inner keys sorted too.")
    cat.valid("deep_nesting_100", {"d": _nest(100)},
              "A list nested 100 deep: Flask writes and reads it without complaint.")


def valid_types(cat) -> None:
    cat.valid("tuples", {"point": (1, 2), "nested": (1, (2, 3), [4, (5,)]), "empty": (), "single": ("x",)},
              "Tuples get the ' t' tag, lists none; a reader must give a tuple back.")
    cat.valid("tuples_deep", {"t": ((("a",), {"k": (1, [2, (3,)])}),), "named": Point(1, 2)},
              "Tuples inside tuples inside dicts; a namedtuple is written as a plain tuple.")
    cat.valid("bytes", {"raw": b"\x00\x01\xfe\xff", "empty": b"", "text": b"hello world",
                        "plus_slash": b"\xfb\xef\xbe\xff\xff\xff"},
              "Bytes get the ' b' tag holding STANDARD base64 ('+', '/', '=' padding).")
    cat.valid("bytes_all_values", {"all": bytes(range(256)), "pad1": b"ab", "pad2": b"a"},
              "Every byte value, and both padding lengths.")
    cat.valid("datetime_naive", {"when": dt.datetime(2024, 2, 29, 13, 45, 30, 987654)},
              "A naive datetime counts as UTC; microseconds are dropped; it reads back aware (UTC).")
    cat.valid("datetime_aware_utc", {"when": dt.datetime(2000, 1, 1, tzinfo=UTC)}, "An aware UTC datetime.")
    cat.valid("datetime_aware_offset",
              {"when": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30)))},
              "An offset datetime is converted to UTC; the offset is gone.")
    cat.valid("datetime_range", {"before_epoch": dt.datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC),
                                 "y9999": dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
                                 "leap_day": dt.datetime(2000, 2, 29, 12, 0, 0, tzinfo=UTC)},
              "Datetimes before the epoch, in year 9999 and on a leap day.")
    cat.valid("uuid", {"id": uuid.UUID("12345678-1234-5678-1234-567812345678"), "nil": uuid.UUID(int=0)},
              "UUIDs get the ' u' tag: 32 lower-case hex digits without dashes.")
    cat.valid("markup", {"m": Markup("<b>bold</b> &amp; safe"), "escaped": Markup.escape("<script>")},
              "markupsafe.Markup (anything with __html__) gets the ' m' tag holding its HTML.")
    cat.valid("markup_unicode", {"m": Markup("<i>caf\u00e9 \U0001f600</i>")}, "Markup with non-ASCII text.")
    cat.valid("tag_like_keys", {
        "x": {" t": [1, 2]}, "y": {" di": "v"}, "z": {" t__": 1}, "w": {" t": 1, "other": 2},
        "v": {" b": "AAAA"}, "u": {" x": 1}, "s": {"$tuple": 1},
    }, "A dict whose only key is a registered tag is escaped as ' di' with '__' appended; dicts "
       "with more keys, unknown tags (' x') and ' t__' are not.")
    cat.valid("di_escapes_all_tags", {k.strip(): {k: 1} for k in (" di", " t", " b", " m", " u", " d")},
              "Each of the six tag keys as the only key of a dict, each escaped.")
    cat.valid("di_escapes_nested", {"a": {" di": {" t": {" b": "x"}}}, "b": [{" u": (1,)}]},
              "Escaped dicts inside escaped dicts, and inside a list with a tuple value.")
    cat.valid("top_level_tag_key", {" t": "only key"},
              "The session dict itself is escaped when its only key is a tag key.")
    cat.valid("top_level_di_key", {" di": {" di": 1}}, "The session's only key is ' di' itself.")
    cat.valid("flashes", {"_flashes": [("message", "Saved"), ("error", "Oops")]},
              "flask.flash() keeps a list of (category, message) tuples under '_flashes'.")
    cat.valid("int_dict_keys", {"scores": {10: "ten", 9: "nine", 100: "hundred"}},
              "Int keys are sorted as ints, then written as strings; they read back as strings, so "
              "writing them again sorts differently (not round-trip stable).")
    cat.valid("date_and_decimal", {"day": dt.date(2024, 1, 2), "price": decimal.Decimal("1.50")},
              "date and Decimal have no tag: Flask's JSON default makes plain strings of them.")
    cat.valid("dollar_keys", {"$tuple": {"$int": "1"}, "$": [{"$x": 1}]},
              "Keys starting with '$' are ordinary keys on the wire (marker JSON wraps them in $dict).")


def _nest(depth: int):
    value = []
    for _ in range(depth - 1):
        value = [value]
    return value


def _boundary_text(saving: int) -> str:
    """A string s whose session {"s": s} zlib-compresses by exactly ``saving`` bytes."""
    rng = random.Random(1000 + saving)
    for length in range(16, 300):
        for _ in range(200):
            head = "".join(rng.choice("qwertyuiopasdfghjklzxcvbnm") for _ in range(length // 2))
            text = head + " ab" * (length // 8)
            raw = ('{"s":"%s"}' % text).encode()
            if len(raw) - len(zlib.compress(raw)) == saving:
                return text
    raise RuntimeError(f"no text saves exactly {saving} bytes")


def valid_size(cat, rng) -> None:
    word = lambda n: "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(n))  # noqa: E731
    cat.valid("compressed_repetitive", {"data": "abc" * 500}, "Very repetitive: the payload is zlib, "
              "so the cookie starts with '.'.")
    cat.valid("compressed_realistic",
              {"cart": [{"sku": f"SKU-{i:04d}", "qty": i % 5 + 1} for i in range(40)], "user": "alice"},
              "A plausible larger session that compresses.")
    cat.valid("compressed_many_keys", {f"key_{i:03d}": i for i in range(120)},
              "120 keys: compressed, and still sorted.")
    cat.valid("compressed_big_bytes", {"blob": bytes(1500)}, "1500 zero bytes inside ' b': compressed.")
    cat.valid("uncompressed_random", {"token": word(64)},
              "Random text: zlib would not save 2 bytes, so the payload stays plain base64.")
    cat.valid("compression_boundary_saves_0", {"s": _boundary_text(0)},
              "zlib output exactly as long as the JSON: not compressed.")
    cat.valid("compression_boundary_saves_1", {"s": _boundary_text(1)},
              "zlib output exactly 1 byte shorter: still NOT compressed (needs >= 2).")
    cat.valid("compression_boundary_saves_2", {"s": _boundary_text(2)},
              "zlib output exactly 2 bytes shorter: compressed.")
    cat.valid("compression_boundary_saves_3", {"s": _boundary_text(3)},
              "zlib output 3 bytes shorter: compressed.")
    cat.valid("oversized", {"blob": word(5600)},
              "Set-Cookie header longer than 4093 characters: werkzeug warns and sends it anyway.")


def valid_keys_and_time(cat) -> None:
    cat.valid("bytes_secret_key", {"logged_in": True}, "SECRET_KEY as bytes that are not UTF-8.",
              secret=BYTES_KEY)
    cat.valid("unicode_secret_key", {"logged_in": True}, "A text SECRET_KEY counts as its UTF-8 bytes.",
              secret=UNICODE_KEY)
    cat.valid("long_secret_key", {"logged_in": True}, "A 100-byte SECRET_KEY (hashed by HMAC first).",
              secret=LONG_KEY)
    cat.valid("signed_with_current_key_fallbacks_configured", {"logged_in": True},
              "The reader has fallbacks; the cookie is signed with its current key.",
              fallbacks=[OLDER_KEY, OLD_KEY])
    cat.valid("signed_with_fallback_key", {"logged_in": True, "user": "alice"},
              "Written by an app whose SECRET_KEY the reader now lists in SECRET_KEY_FALLBACKS.",
              fallbacks=[OLDER_KEY, OLD_KEY], signer=OLD_KEY)
    cat.valid("signed_with_oldest_fallback_key", {"logged_in": True},
              "Signed with the first (oldest) entry of SECRET_KEY_FALLBACKS.",
              fallbacks=[OLDER_KEY, OLD_KEY], signer=OLDER_KEY)
    cat.valid("bytes_fallback_key", {"logged_in": True}, "The fallback that verifies is a non-UTF-8 key.",
              fallbacks=[BYTES_KEY], signer=BYTES_KEY)
    cat.valid("timestamp_zero", {"a": 1}, "Signed at Unix time 0: the timestamp segment is EMPTY, so "
              "the cookie contains '..'.", signed_at=0, verify_at=100)
    cat.valid("timestamp_u32_max", {"a": 1}, "Signed at 2**32 - 1: the last 4-byte timestamp.",
              signed_at=2**32 - 1, verify_at=2**32 + 10)
    cat.valid("timestamp_five_bytes", {"a": 1}, "Signed after 2106-02-07: 5 timestamp bytes, 7 characters.",
              signed_at=2**32 + 5, verify_at=2**32 + 50)
    cat.valid("age_equals_max_age", {"a": 1}, "Exactly max_age old: still accepted (only age > max_age "
              "expires).", verify_at=T0 + MAX_AGE)
    cat.valid("custom_max_age_ok", {"a": 1}, "PERMANENT_SESSION_LIFETIME of 60 s, age 60.",
              verify_at=T0 + 60, max_age=60)
    cat.valid("max_age_zero_same_second", {"a": 1}, "PERMANENT_SESSION_LIFETIME of 0 s: read in the "
              "second it was signed, it is accepted.", verify_at=T0, max_age=0)
    cat.valid("age_zero", {"a": 1}, "Read in the same second it was signed.", verify_at=T0)


def _flip(ch: str) -> str:
    return "B" if ch == "A" else "A"


def invalid(cat) -> None:
    login = cat.named("classic_login")["cookie"]
    payload, ts, sig = split_cookie(login)
    bad = lambda name, text, cookie, **kw: cat.other(name, "invalid", text, cookie, "empty", **kw)  # noqa: E731
    bad("tampered_payload", "One payload character changed.",
        f"{payload[:5]}{_flip(payload[5])}{payload[6:]}.{ts}.{sig}", signed_at=T0)
    bad("tampered_timestamp", "Timestamp rewritten to T0+1000, signature left alone.",
        f"{payload}.{Spec.timestamp(T0 + 1000)}.{sig}", signed_at=T0, verify_at=T0 + 2000)
    bad("tampered_signature", "First signature character changed.",
        f"{payload}.{ts}.{_flip(sig[0])}{sig[1:]}", signed_at=T0)
    other_sig = split_cookie(cat.named("permanent_flag")["cookie"])[2]
    bad("signature_from_other_cookie", "The signature of a different session.",
        f"{payload}.{ts}.{other_sig}", signed_at=T0)
    bad("wrong_key", "Signed with a key the reader does not know.",
        Peer(STRANGER_KEY).dump({"logged_in": True}, T0)[0], signed_at=T0)
    bad("fallback_removed", "Signed with OLD_KEY, which the reader no longer lists.",
        Peer(OLD_KEY).dump({"logged_in": True}, T0)[0], signed_at=T0, fallbacks=[OLDER_KEY])
    bad("wrong_key_with_fallbacks", "The reader has a fallback key; the cookie was signed with a "
        "key it lists neither as current nor as fallback.",
        Peer(STRANGER_KEY).dump({"logged_in": True}, T0)[0], signed_at=T0, fallbacks=[OLD_KEY])
    bad("expired", "Age max_age + 1 seconds.", login, signed_at=T0, verify_at=T0 + MAX_AGE + 1)
    bad("expired_custom_max_age", "PERMANENT_SESSION_LIFETIME of 60 s, age 61.", login,
        signed_at=T0, verify_at=T0 + 61, max_age=60)
    bad("expired_max_age_zero", "PERMANENT_SESSION_LIFETIME of 0 s, age 1.", login,
        signed_at=T0, verify_at=T0 + 1, max_age=0)
    bad("future_timestamp", "Signed 1 second after the reader's now: a negative age is refused too.",
        login, signed_at=T0, verify_at=T0 - 1)
    bad("future_timestamp_one_hour", "Signed an hour after the reader's now.", login,
        signed_at=T0, verify_at=T0 - 3600)
    bad("timestamp_zero_expired", "An empty timestamp segment is time 0: long expired.",
        cat.named("timestamp_zero")["cookie"], signed_at=0, verify_at=T0)
    bad("truncated_one_char", "Last signature character removed.", login[:-1], signed_at=T0)
    bad("truncated_half", "Only the first half of the cookie.", login[: len(login) // 2], signed_at=T0)
    bad("missing_signature", "payload.timestamp without a signature.", f"{payload}.{ts}", signed_at=T0)
    bad("payload_only", "No dot at all.", payload, signed_at=T0)
    bad("empty_string", "An empty value: Flask does not even try to decode it.", "")
    for name, junk in [("garbage_word", "hello"), ("garbage_three_parts", "not.a.cookie"),
                       ("garbage_symbols", "!!!.@@@.###"), ("only_dots", "..."),
                       ("garbage_long", "x" * 300), ("garbage_non_ascii", "h\u00e9.llo.w\u00f6rld")]:
        bad(name, f"Garbage: {junk[:20]!r}.", junk)
    bad("extra_dot_prefix", "A '.' put in front: claims compression and changes the signed text.",
        "." + login, signed_at=T0)
    bad("extra_dot_suffix", "A '.' appended: the signature segment is now empty.", login + ".", signed_at=T0)
    bad("extra_dot_in_payload", "A '.' inserted in the payload.",
        f"{payload[:4]}.{payload[4:]}.{ts}.{sig}", signed_at=T0)
    bad("double_dot_before_signature", "Two dots between timestamp and signature.",
        f"{payload}.{ts}..{sig}", signed_at=T0)
    bad("compression_dot_removed", "The leading '.' of a compressed cookie removed: the dot is signed "
        "too, so the signature no longer matches.", cat.named("compressed_repetitive")["cookie"][1:],
        signed_at=T0)
    comp = cat.named("compressed_repetitive")["cookie"]
    bad("compressed_truncated_payload", "A compressed cookie with payload characters cut out.",
        comp[:12] + comp[20:], signed_at=T0)
    bad("signature_short", "A 26-character signature (19 bytes).", f"{payload}.{ts}.{sig[:26]}", signed_at=T0)
    bad("signature_long", "A 28-character signature: one extra character.", f"{payload}.{ts}.{sig}A",
        signed_at=T0)
    bad("other_salt", "Right key, salt 'itsdangerous' instead of 'cookie-session'.",
        sign_payload(KEY, payload, T0, salt="itsdangerous"), signed_at=T0)
    bad("sha256_digest", "HMAC-SHA256 instead of SHA-1 (a 43-character signature).",
        sign_payload(KEY, payload, T0, digest_method=hashlib.sha256), signed_at=T0)
    bad("django_concat_derivation", "itsdangerous' default derivation sha1(salt + 'signer' + key), "
        "not Flask's HMAC one.", sign_payload(KEY, payload, T0, key_derivation="django-concat"), signed_at=T0)
    bad("raw_secret_no_derivation", "HMAC keyed with the secret itself, no derivation.",
        sign_payload(KEY, payload, T0, key_derivation="none"), signed_at=T0)
    bad("strict_sig_one_junk_char", "One '!' inside the signature: 28 characters need no padding and "
        "do not decode, so even Flask refuses.", f"{payload}.{ts}.{sig[:5]}!{sig[5:]}", signed_at=T0)


def _sig_with(chars: str) -> dict:
    for n in range(10_000):
        data = {"n": n}
        p = Spec.payload('{"n":%d}' % n)
        if all(c in Spec.signature(KEY.encode(), f"{p}.{Spec.timestamp(T0)}") for c in chars):
            return data
    raise RuntimeError("no such session")


def _low_bit_flipped(ch: str) -> str:
    alphabet = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
    return alphabet[alphabet.index(ch) ^ 1]


def lenient(cat) -> None:
    login = cat.named("classic_login")["cookie"]
    payload, ts, sig = split_cookie(login)
    ok = lambda name, text, cookie, **kw: cat.other(name, "lenient", text, cookie, "session",  # noqa: E731
                                                     signed_at=T0, **kw)
    ok("lenient_sig_trailing_bits", "The unused low bits of the last signature character changed; "
       "Python's decoder ignores them and Flask ACCEPTS. A canonical decoder refuses.",
       f"{payload}.{ts}.{sig[:-1]}{_low_bit_flipped(sig[-1])}")
    ok("lenient_sig_padding", "'=' appended to the signature: Flask ACCEPTS.", login + "=")
    ok("lenient_sig_double_padding", "'==' appended to the signature: Flask ACCEPTS.", login + "==")
    canonical = Peer(KEY).dump(_sig_with("-_"), T0)[0]
    p2, t2, s2 = split_cookie(canonical)
    ok("lenient_sig_standard_alphabet", "Signature spelled with '+' and '/' instead of '-' and '_': "
       "Flask ACCEPTS.", f"{p2}.{t2}.{s2.replace('-', '+').replace('_', '/')}",
       extra={"canonical_cookie": canonical})
    ok("lenient_sig_two_junk_chars", "Two '!' inside the signature: dropped by the decoder after "
       "padding 29 characters to 32, so Flask ACCEPTS.", f"{payload}.{ts}.{sig[:5]}!!{sig[5:]}")


def _js(text: str, compress: bool = False) -> str:
    raw = text.encode("utf-8")
    return "." + b64url(zlib.compress(raw)) if compress else b64url(raw)


def crafted(cat) -> None:
    def json_case(name, text, outcome, description, compress=False):
        cat.crafted(name, description, _js(text, compress), outcome, payload_text=text)

    json_case("crafted_not_json", "not json", "error_500", "Signed payload that is not JSON: "
              "BadPayload, which Flask does not catch: HTTP 500.")
    cat.crafted("crafted_dot_but_not_zlib", "Compression dot over plain JSON: zlib fails, HTTP 500.",
                "." + b64url(b'{"a":1}'), "error_500", payload_text='{"a":1}')
    cat.crafted("crafted_bad_base64_payload", "A payload of non-alphabet characters decodes to "
                "nothing; JSON fails, HTTP 500.", "@@@@", "error_500")
    cat.crafted("crafted_empty_payload", "An empty payload segment: JSON fails, HTTP 500.", "", "error_500")
    json_case("crafted_top_level_array", "[1,2]", "error_500", "A top-level array: Flask's dict() "
              "call fails, HTTP 500.")
    json_case("crafted_top_level_pairs", '[["a",1]]', "session", "A top-level array of pairs: dict() "
              "turns it into {'a': 1}.")
    json_case("crafted_top_level_string", '"x"', "error_500", "A top-level string: HTTP 500.")
    json_case("crafted_top_level_number", "42", "error_500", "A top-level number: HTTP 500.")
    json_case("crafted_top_level_null", "null", "session", "Top-level null: an empty session, no error.")
    json_case("crafted_trailing_json", '{"a":1} x', "error_500", "Text after the JSON object: HTTP 500.")
    json_case("crafted_raw_utf8", '{"k":"h\u00e9llo\U0001f600"}', "session", "Raw UTF-8 in the JSON "
              "(no \\u escapes): accepted.")
    cat.crafted("crafted_invalid_utf8", "Payload bytes that are not UTF-8: HTTP 500.",
                b64url(b'{"k":"\xff\xfe"}'), "error_500")
    json_case("crafted_whitespace_unsorted", '{ "b" : 1 ,\n "a" : [ 1 , 2 ] }', "session",
              "Pretty-printed JSON with unsorted keys: accepted, order kept as written.")
    json_case("crafted_duplicate_keys", '{"a":1,"a":2}', "session", "A duplicated key: the last wins.")
    json_case("crafted_number_overflow", '{"a":1e400}', "session",
              "A float literal too big for a double reads as Infinity.")
    json_case("crafted_bad_datetime", '{"d":{" d":"not a date"}}', "session",
              "A ' d' value that does not parse silently becomes None.")
    json_case("crafted_datetime_with_offset", '{"d":{" d":"Tue, 02 Jan 2024 03:04:05 +0100"}}', "session",
              "A ' d' value with a +0100 zone reads as an aware datetime keeping that offset.")
    json_case("crafted_bad_bytes_padding", '{"b":{" b":"abc"}}', "error_500",
              "A ' b' value with broken padding: HTTP 500.")
    json_case("crafted_bad_uuid", '{"u":{" u":"xyz"}}', "error_500", "A ' u' value that is no UUID: HTTP 500.")
    json_case("crafted_uuid_dashed", '{"u":{" u":"12345678-1234-5678-1234-567812345678"}}', "session",
              "A ' u' value with dashes: accepted (UUID() takes many spellings).")
    json_case("crafted_uuid_upper", '{"u":{" u":"ABCDEF0123456789ABCDEF0123456789"}}', "session",
              "A ' u' value in upper case: accepted.")
    json_case("crafted_di_without_suffix", '{"x":{" di":{"abc":1}}}', "session",
              "A ' di' whose inner key lacks '__': its last two characters are cut regardless.")
    json_case("crafted_unknown_tag", '{"x":{" z":1}}', "session", "An unregistered tag-like key ' z' is "
              "just a dict key.")
    json_case("crafted_compressed_small", '{"a":1}', "session", "Compressed although that made it longer: "
              "readers accept it.", compress=True)
    text9 = '{"data":"' + "xyz" * 200 + '"}'
    cat.crafted("crafted_zlib_level9", "A zlib level-9 stream: any valid zlib stream is accepted.",
                "." + b64url(zlib.compress(text9.encode(), 9)), "session", payload_text=text9)
    text_q = '{"a":"' + "q" * 50 + '"}'
    cat.crafted("crafted_zlib_trailing_garbage", "Bytes after the end of the zlib stream are ignored.",
                "." + b64url(zlib.compress(text_q.encode()) + b"JUNK"), "session", payload_text=text_q)
    cat.crafted("crafted_zlib_truncated", "A zlib stream cut short: HTTP 500.",
                "." + b64url(zlib.compress(text_q.encode())[:-6]), "error_500", payload_text=text_q)
    cat.crafted("crafted_zlib_bad_checksum", "A zlib stream whose Adler-32 trailer is wrong: HTTP 500.",
                "." + b64url(zlib.compress(text_q.encode())[:-1] + b"\0"), "error_500", payload_text=text_q)
    spaces = '{"a":1' + " " * 400_000 + "}"
    cat.crafted("crafted_inflates_past_256k", "A 700-byte cookie that inflates to 400 kB of JSON "
                "whitespace: Flask reads it (it sets no limit); a capped reader refuses it.",
                "." + b64url(zlib.compress(spaces.encode(), 9)), "session")
    cat.crafted("crafted_nesting_5000", "Arrays nested 5000 deep: Python's JSON parser gives up "
                "(RecursionError), HTTP 500.", _js('{"a":' + "[" * 5000 + "]" * 5000 + "}", True), "error_500")
    timestamp_cases(cat)


def timestamp_cases(cat) -> None:
    payload, _, _ = split_cookie(cat.named("classic_login")["cookie"])
    for name, segment, outcome, text in [
        ("crafted_malformed_timestamp", b64url(b"\x01" * 9), "empty", "Correctly signed, but the "
         "timestamp decodes to 9 bytes: BadTimeSignature, empty session."),
        ("crafted_far_future_timestamp", b64url(b"\xff" * 8), "error_500", "Correctly signed with "
         "timestamp 2**64-1: the age is negative and building the 'expired' error overflows "
         "Python's datetime, so Flask answers HTTP 500."),
        ("crafted_timestamp_leading_zeros", b64url(T0.to_bytes(8, "big")), "session", "Correctly "
         "signed, timestamp written as 8 bytes with leading zeros: Flask reads the same time."),
    ]:
        cookie = f"{payload}.{segment}.{signature_over(KEY, f'{payload}.{segment}')}"
        cat.other(name, "crafted", text, cookie, outcome, extra={"timestamp_segment": segment})
