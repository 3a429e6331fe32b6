#!/usr/bin/env python3
"""A stock Flask app that flagon's tests talk to over HTTP, as the reference peer.

    .venv/bin/python tests/flask/peer_app.py --port 0 --secret s3cret --quiet

When the socket is bound it prints ``port <N>`` and then ``ready`` on stdout (one line
each, flushed); everything else goes to stderr. Stop it with SIGTERM or SIGINT.

The session is Flask's default signed cookie, untouched: whatever this app writes or
accepts is what any Flask app with the same settings writes or accepts. Values travel
as marker JSON (see markers.py).

Endpoints
---------
``GET /login``, ``POST /login`` (form ``username``; ``admin`` logs in), ``GET /dashboard``,
``GET /logout``: the classic Flask login demo, every answer 200.
``GET /ping``: ``pong`` without touching the session.
``GET /session``, ``GET /session/<key>``: read; ``PUT|POST /session/<key>``: assign;
``POST|PATCH /session``: update; ``DELETE /session/<key>``: pop;
``DELETE /session`` or ``POST /clear``: clear.
``POST /permanent``: body empty, ``true``/``false`` or ``{"permanent": bool}``.
``POST /flash`` ``{"message", "category"}``, ``GET /flashes``.
``POST /debug/encode`` ``{"session", "timestamp"?}`` -> ``{"cookie", "tagged_json"}``.
``POST /debug/decode`` ``{"cookie", "now"?, "max_age"?}`` -> ``{"ok", "session", "timestamp"}``
or ``{"ok": false, "error": <exception class>, "message"}``.
``GET /debug/config``: the effective session settings.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import timedelta
from pathlib import Path

from flask import Flask, Response, flash, get_flashed_messages, request, session
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

sys.path.insert(0, str(Path(__file__).resolve().parent))
import markers  # noqa: E402

LOGIN_PAGE = (
    "<!doctype html><title>Log in</title>"
    '<form method="post" action="/login"><input name="username" autofocus>'
    "<button>Log in</button></form>"
)


class BadRequest(Exception):
    """A request body this app cannot use; answered with 400 and the message."""


def reply(doc, status: int = 200) -> Response:
    """JSON response; stdlib json keeps key order as held (Flask's provider sorts)."""
    return Response(json.dumps(doc, ensure_ascii=False) + "\n", status, mimetype="application/json")


def show_session() -> Response:
    return reply(markers.dump(dict(session)))


def json_body():
    """The request body as JSON, or None when it is empty."""
    text = request.get_data(as_text=True)
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise BadRequest(f"body is not JSON: {exc}") from exc


def marker_body():
    try:
        return markers.load(json_body())
    except markers.MarkerError as exc:
        raise BadRequest(str(exc)) from exc


def serializer_at(app: Flask, now: int | None) -> URLSafeTimedSerializer | None:
    """Flask's own session serializer; with ``now`` its clock reads that Unix time,
    both for the timestamp it signs and for the age it checks."""
    stock = app.session_interface.get_signing_serializer(app)
    if stock is None or now is None:
        return stock
    fixed = int(now)

    class FixedClock(TimestampSigner):
        def get_timestamp(self) -> int:
            return fixed

    return URLSafeTimedSerializer(
        stock.secret_keys,
        salt=stock.salt,
        serializer=stock.serializer,
        signer=FixedClock,
        signer_kwargs=stock.signer_kwargs,
    )


def decode_report(app: Flask, cookie: str, now, max_age) -> dict:
    """What Flask's loader makes of ``cookie``, with the reason when it refuses."""
    s = serializer_at(app, now)
    if s is None:
        return {"ok": False, "error": "NoSecretKey", "message": "SECRET_KEY is not set"}
    if max_age is None:
        max_age = int(app.permanent_session_lifetime.total_seconds())
    try:
        data, when = s.loads(cookie, max_age=max_age, return_timestamp=True)
    except Exception as exc:  # noqa: BLE001 - the class name is the answer
        return {"ok": False, "error": type(exc).__name__, "message": str(exc)}
    stamp = int(when.timestamp())
    if isinstance(data, dict):
        return {"ok": True, "session": markers.dump(data), "timestamp": stamp}
    return {
        "ok": False,
        "error": "NotAnObject",
        "message": f"payload is a {type(data).__name__}, not an object",
        "value": markers.dump(data),
        "timestamp": stamp,
    }


def add_demo_routes(app: Flask) -> None:
    @app.get("/login")
    def login_page():
        return LOGIN_PAGE

    @app.post("/login")
    def login():
        if request.form.get("username") != "admin":
            return "Login failed!"
        session["logged_in"] = True
        return "Logged in successfully!"

    @app.get("/dashboard")
    def dashboard():
        return "Welcome to the dashboard!" if session.get("logged_in") else "Access denied!"

    @app.get("/logout")
    def logout():
        session.pop("logged_in", None)
        return "Logged out successfully!"

    @app.get("/ping")
    def ping():
        return "pong"


def add_session_routes(app: Flask) -> None:
    @app.get("/session")
    def read_all():
        return show_session()

    @app.get("/session/<path:key>")
    def read_one(key):
        if key not in session:
            return reply({"error": "missing", "key": key}, 404)
        return reply(markers.dump(session[key]))

    @app.route("/session/<path:key>", methods=["PUT", "POST"])
    def assign(key):
        session[key] = marker_body()
        return show_session()

    @app.route("/session", methods=["POST", "PATCH"])
    def update():
        doc = json_body()
        if not isinstance(doc, dict):
            raise BadRequest("body must be a JSON object of marker values")
        try:
            values = {k: markers.load(v) for k, v in doc.items()}
        except markers.MarkerError as exc:
            raise BadRequest(str(exc)) from exc
        session.update(values)
        return show_session()

    @app.delete("/session/<path:key>")
    def remove(key):
        present = key in session
        session.pop(key, None)  # popping a missing key leaves `modified` alone
        return reply({"removed": present, "session": markers.dump(dict(session))})

    @app.delete("/session")
    @app.post("/clear")
    def clear():
        session.clear()
        return reply({})

    @app.post("/permanent")
    def permanent():
        doc = json_body()
        if isinstance(doc, dict) and set(doc) <= {"permanent"}:
            doc = doc.get("permanent", True)
        if doc is None:
            doc = True
        if not isinstance(doc, bool):
            raise BadRequest('body must be empty, true, false or {"permanent": bool}')
        session.permanent = doc
        return show_session()

    @app.post("/flash")
    def add_flash():
        doc = json_body() or {}
        if not isinstance(doc, dict):
            raise BadRequest('body must be {"message": str, "category": str}')
        flash(doc.get("message", ""), doc.get("category", "message"))
        return reply({"ok": True})

    @app.get("/flashes")
    def flashes():
        return reply([list(pair) for pair in get_flashed_messages(with_categories=True)])


def add_debug_routes(app: Flask) -> None:
    @app.post("/debug/encode")
    def encode():
        doc = json_body()
        if not isinstance(doc, dict) or not isinstance(doc.get("session"), dict):
            raise BadRequest('body must be {"session": {...}, "timestamp": optional int}')
        try:
            data = markers.load(doc["session"])
        except markers.MarkerError as exc:
            raise BadRequest(str(exc)) from exc
        if not isinstance(data, dict):
            raise BadRequest("session must describe a dict")
        s = serializer_at(app, doc.get("timestamp"))
        if s is None:
            return reply({"error": "SECRET_KEY is not set"}, 409)
        tagged = app.session_interface.serializer.dumps(data)
        return reply({"cookie": s.dumps(data), "tagged_json": tagged})

    @app.post("/debug/decode")
    def decode():
        doc = json_body()
        if not isinstance(doc, dict) or not isinstance(doc.get("cookie"), str):
            raise BadRequest('body must be {"cookie": str, "now": optional int, "max_age": optional int}')
        return reply(decode_report(app, doc["cookie"], doc.get("now"), doc.get("max_age")))

    @app.get("/debug/config")
    def config():
        c = app.config
        return reply(
            {
                "secret_key_set": bool(c["SECRET_KEY"]),
                "fallback_count": len(c["SECRET_KEY_FALLBACKS"] or ()),
                "permanent_session_lifetime": int(app.permanent_session_lifetime.total_seconds()),
                "session_cookie_name": c["SESSION_COOKIE_NAME"],
                "session_cookie_domain": c["SESSION_COOKIE_DOMAIN"],
                "session_cookie_path": c["SESSION_COOKIE_PATH"] or c["APPLICATION_ROOT"],
                "session_cookie_httponly": c["SESSION_COOKIE_HTTPONLY"],
                "session_cookie_secure": c["SESSION_COOKIE_SECURE"],
                "session_cookie_samesite": c["SESSION_COOKIE_SAMESITE"],
                "session_cookie_partitioned": c["SESSION_COOKIE_PARTITIONED"],
                "session_refresh_each_request": c["SESSION_REFRESH_EACH_REQUEST"],
                "max_cookie_size": c["MAX_COOKIE_SIZE"],
            }
        )


def make_app(secret="dev", fallbacks=(), lifetime=None, **config) -> Flask:
    """The peer app. ``secret`` may be str, bytes or None (sessions disabled)."""
    app = Flask(__name__)
    app.config["SECRET_KEY"] = secret or None
    app.config["SECRET_KEY_FALLBACKS"] = list(fallbacks) or None
    if lifetime is not None:
        app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=lifetime)
    app.config.update(config)
    add_demo_routes(app)
    add_session_routes(app)
    add_debug_routes(app)
    app.register_error_handler(BadRequest, lambda exc: reply({"error": str(exc)}, 400))
    return app


def cli_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Flask session peer for flagon's interop tests")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5000, help="0 = any free port")
    keys = p.add_mutually_exclusive_group()
    keys.add_argument("--secret", default="dev", help="SECRET_KEY as text")
    keys.add_argument("--secret-hex", help="SECRET_KEY as hex bytes")
    keys.add_argument("--no-secret", action="store_true", help="no SECRET_KEY (null session)")
    p.add_argument("--fallback", action="append", default=[],
                   help="a SECRET_KEY_FALLBACKS entry, repeatable, oldest first")
    p.add_argument("--lifetime", type=int, help="PERMANENT_SESSION_LIFETIME, seconds")
    p.add_argument("--cookie-name")
    p.add_argument("--cookie-domain")
    p.add_argument("--cookie-path")
    p.add_argument("--samesite", help="Strict, Lax or None")
    p.add_argument("--secure", action="store_true")
    p.add_argument("--no-httponly", action="store_true")
    p.add_argument("--partitioned", action="store_true")
    p.add_argument("--no-refresh", action="store_true", help="SESSION_REFRESH_EACH_REQUEST=False")
    p.add_argument("--max-cookie-size", type=int)
    p.add_argument("--quiet", action="store_true", help="no request log")
    return p.parse_args(argv)


def config_from(args: argparse.Namespace) -> dict:
    pairs = {
        "SESSION_COOKIE_NAME": args.cookie_name,
        "SESSION_COOKIE_DOMAIN": args.cookie_domain,
        "SESSION_COOKIE_PATH": args.cookie_path,
        "SESSION_COOKIE_SAMESITE": args.samesite,
        "SESSION_COOKIE_SECURE": True if args.secure else None,
        "SESSION_COOKIE_HTTPONLY": False if args.no_httponly else None,
        "SESSION_COOKIE_PARTITIONED": True if args.partitioned else None,
        "SESSION_REFRESH_EACH_REQUEST": False if args.no_refresh else None,
        "MAX_COOKIE_SIZE": args.max_cookie_size,
    }
    return {k: v for k, v in pairs.items() if v is not None}


def main(argv=None) -> int:
    args = cli_args(argv)
    if args.no_secret:
        secret = None
    elif args.secret_hex is not None:
        secret = bytes.fromhex(args.secret_hex)
    else:
        secret = args.secret
    app = make_app(secret, args.fallback, args.lifetime, **config_from(args))
    if args.quiet:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)

    from werkzeug.serving import make_server

    server = make_server(args.host, args.port, app, threaded=True)
    print(f"port {server.server_port}", flush=True)
    print("ready", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
