#!/usr/bin/env python3
"""A Flask app on Flask-Session 0.8 (Redis, msgspec), the peer of flagon's
`FlaskSessionRedisStore` tests.

    .venv/bin/python tests/flask/fsess_peer.py --port 0 --secret s3cret --prefix t1: --quiet

When the socket is bound it prints ``port <N>`` and then ``ready`` on stdout; everything
else goes to stderr. Session values travel as marker JSON (see markers.py).

Endpoints
---------
``GET /ping``: ``pong`` without touching the session.
``GET /session``: the whole session (``_permanent`` included) as marker JSON.
``PUT /session/<key>``: assign the marker JSON body; ``DELETE /session/<key>``: pop.
``POST /session``: update with a marker JSON object.
``POST /extras``: store values msgspec turns into something else (set, frozenset,
bytearray, naive datetime, date, time, timedelta, Decimal), under fixed keys.
``POST /clear``: ``session.clear()`` (a logout: Flask-Session deletes the record).
``GET /sid``: ``{"sid": session.sid}`` (the unsigned sid, for finding the Redis key).
"""

from __future__ import annotations

import argparse
import datetime as dt
import decimal
import json
import logging
import sys
import warnings
from pathlib import Path

import redis
from flask import Flask, Response, request, session
from flask_session import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))
import markers  # noqa: E402


def reply(doc, status: int = 200) -> Response:
    return Response(json.dumps(doc, ensure_ascii=False) + "\n", status, mimetype="application/json")


def body():
    text = request.get_data(as_text=True)
    return markers.load(json.loads(text)) if text.strip() else None


def make_app(args: argparse.Namespace) -> Flask:
    app = Flask("fsess_peer")
    app.config.update(
        SECRET_KEY=args.secret,
        SESSION_TYPE="redis",
        SESSION_REDIS=redis.Redis(host=args.redis_host, port=args.redis_port),
        SESSION_KEY_PREFIX=args.prefix,
        SESSION_USE_SIGNER=args.signer,
        SESSION_SERIALIZATION_FORMAT=args.format,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(seconds=args.lifetime),
    )
    with warnings.catch_warnings():
        # SESSION_USE_SIGNER is deprecated in 0.8 but still works; it is what we test.
        warnings.simplefilter("ignore", DeprecationWarning)
        Session(app)

    @app.get("/ping")
    def ping():
        return "pong"

    @app.get("/session")
    def show():
        return reply(markers.dump(dict(session)))

    @app.get("/sid")
    def sid():
        return reply({"sid": session.sid})

    @app.put("/session/<key>")
    def assign(key):
        session[key] = body()
        return reply(markers.dump(dict(session)))

    @app.delete("/session/<key>")
    def pop(key):
        session.pop(key, None)
        return reply(markers.dump(dict(session)))

    @app.post("/session")
    def update():
        session.update(body())
        return reply(markers.dump(dict(session)))

    @app.post("/extras")
    def extras():
        session.update(
            {
                "set": {3, 1, 2},
                "frozenset": frozenset({7}),
                "bytearray": bytearray(b"ab"),
                "naive": dt.datetime(2024, 1, 2, 3, 4, 5),
                "date": dt.date(2024, 1, 2),
                "time": dt.time(3, 4, 5),
                "timedelta": dt.timedelta(seconds=5),
                "decimal": decimal.Decimal("1.5"),
            }
        )
        return reply({"ok": True})

    @app.post("/clear")
    def clear():
        session.clear()
        return reply({"ok": True})

    return app


def cli_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5000, help="0 = any free port")
    p.add_argument("--secret", default="dev")
    p.add_argument("--prefix", default="session:", help="SESSION_KEY_PREFIX")
    p.add_argument("--signer", action="store_true", help="SESSION_USE_SIGNER=True")
    p.add_argument("--format", default="msgpack", choices=["msgpack", "json"],
                   help="SESSION_SERIALIZATION_FORMAT")
    p.add_argument("--lifetime", type=int, default=3600, help="PERMANENT_SESSION_LIFETIME, seconds")
    p.add_argument("--redis-host", default="127.0.0.1")
    p.add_argument("--redis-port", type=int, default=6379)
    p.add_argument("--quiet", action="store_true", help="no request log")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = cli_args(argv)
    app = make_app(args)
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
