#!/usr/bin/env python3
"""A Flask app with stock Flask-Login and Flask-WTF CSRF protection, for flagon's
flask_login and csrf interop tests.

    .venv/bin/python tests/flask/login_peer.py --port 0 --secret s3cret --quiet

Like peer_app.py it prints ``port <N>`` and then ``ready`` on stdout once serving.
Every user id is a valid user (the loader accepts any id), so only Flask-Login's own
session and cookie handling decide who is logged in.

Endpoints (JSON answers)
------------------------
``POST /login`` form ``user_id``, ``remember`` (``1``), ``duration`` (seconds),
``fresh`` (``0`` for a non-fresh login): ``login_user(...)``. CSRF-exempt.
``POST /logout``: ``logout_user()``. CSRF-exempt.
``GET /whoami``: ``{"user": current_user id or null, "fresh": login_fresh()}``.
``POST /confirm``: ``confirm_login()``. CSRF-exempt.
``GET /session``: the session as JSON (strings, numbers, booleans only).
``GET /debug/identifier``: Flask-Login's ``_create_identifier()`` for this request.
``GET /debug/remember/<user_id>``: ``encode_cookie(user_id)``.
``GET /csrf/token``: ``{"token": generate_csrf()}``.
``POST /csrf/protected``: checked by ``CSRFProtect``; ``{"ok": true}``, or 400 with
``{"error": <Flask-WTF's reason>}``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import timedelta

from flask import Flask, Response, request, session
from flask_login import (
    LoginManager,
    UserMixin,
    confirm_login,
    current_user,
    login_fresh,
    login_user,
    logout_user,
)
from flask_login.utils import _create_identifier, encode_cookie
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf


class User(UserMixin):
    def __init__(self, user_id: str):
        self.id = user_id


def reply(doc, status: int = 200) -> Response:
    return Response(json.dumps(doc) + "\n", status, mimetype="application/json")


def make_app(secret: str, protection: str | None, csrf_time_limit: int | None,
             remember_refresh: bool) -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = secret
    app.config["SESSION_PROTECTION"] = protection
    app.config["WTF_CSRF_TIME_LIMIT"] = csrf_time_limit
    app.config["REMEMBER_COOKIE_REFRESH_EACH_REQUEST"] = remember_refresh

    login_manager = LoginManager(app)
    csrf = CSRFProtect(app)

    @login_manager.user_loader
    def load(user_id):
        return User(user_id)

    @app.post("/login")
    @csrf.exempt
    def login():
        form = request.form
        duration = form.get("duration")
        login_user(
            User(form["user_id"]),
            remember=form.get("remember") == "1",
            duration=timedelta(seconds=float(duration)) if duration else None,
            fresh=form.get("fresh") != "0",
        )
        return reply({"ok": True})

    @app.post("/logout")
    @csrf.exempt
    def logout():
        logout_user()
        return reply({"ok": True})

    @app.post("/confirm")
    @csrf.exempt
    def confirm():
        confirm_login()
        return reply({"ok": True})

    @app.get("/whoami")
    def whoami():
        user = current_user.get_id() if current_user.is_authenticated else None
        return reply({"user": user, "fresh": login_fresh()})

    @app.get("/session")
    def show_session():
        return reply(dict(session))

    @app.get("/debug/identifier")
    def identifier():
        return reply({"identifier": _create_identifier()})

    @app.get("/debug/remember/<user_id>")
    def remember(user_id):
        return reply({"cookie": encode_cookie(user_id)})

    @app.get("/csrf/token")
    def token():
        return reply({"token": generate_csrf()})

    @app.post("/csrf/protected")
    def protected():
        return reply({"ok": True})

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return reply({"error": exc.description}, 400)

    return app


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Flask-Login / Flask-WTF peer for flagon's tests")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5000, help="0 = any free port")
    p.add_argument("--secret", default="dev")
    p.add_argument("--protection", choices=["basic", "strong", "none"], default="basic")
    p.add_argument("--csrf-time-limit", type=int, default=3600)
    p.add_argument("--remember-refresh", action="store_true")
    p.add_argument("--quiet", action="store_true", help="no request log")
    args = p.parse_args(argv)
    protection = None if args.protection == "none" else args.protection
    app = make_app(args.secret, protection, args.csrf_time_limit, args.remember_refresh)
    if args.quiet:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        logging.getLogger("flask_wtf.csrf").setLevel(logging.ERROR)

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
