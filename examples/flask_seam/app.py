#!/usr/bin/env python3
"""The Flask half of a site that is moving to Rust one route at a time.

examples/flask_seam.rs is the other half: the same secret key, the same session, so a
user logged in on either half is logged in on both, and a form rendered by either half
can be posted to the other.

    SECRET_KEY=change-me PORT=5000 .venv/bin/python examples/flask_seam/app.py

Settings, from the environment:

``SECRET_KEY``
    Flask's ``SECRET_KEY``; give the Rust half the same one. Required.
``PORT``
    The port to listen on, on 127.0.0.1 (default 5000; ``0`` picks a free one).
``SESSION_STORE``
    ``cookie`` (the default): Flask's own signed cookie session.
    ``flask-session+redis://HOST:PORT``: Flask-Session on that Redis, with
    ``SESSION_KEY_PREFIX`` (default ``session:``) and ``SESSION_USE_SIGNER`` (``true`` /
    ``false``, default ``false``) as Flask-Session's settings of those names.

Routes (plain-text answers unless noted):

``GET /flask/login``
    A login form (HTML) with Flask-WTF's CSRF token.
``POST /flask/login``
    Fields ``username``, ``csrf_token``, optional ``remember``: ``login_user`` (fresh);
    ``Logged in as USERNAME``. 400 on a bad CSRF token or a missing username.
``GET /flask/me``
    The logged-in user's id as the whole body, or 401.
``GET /flask/logout``
    ``logout_user()``; ``Logged out``.
``GET /flask/form``
    A form (HTML) whose hidden ``csrf_token`` holds a fresh token.
``POST /flask/submit``
    ``ok`` when the token (form field or ``X-CSRFToken`` header) is valid, else 400.
``GET /flask/session``
    The session as JSON, to watch what either half wrote (the raw CSRF token masked).

On start it prints ``port N`` and then ``ready`` on stdout, so scripts and tests know
where it listens.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from urllib.parse import urlsplit

from flask import Flask, Response, render_template_string, session
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError, CSRFProtect
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired

LOGIN_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Log in (Flask half)</title></head>
<body>
  <h1>Log in</h1>
  <form method="post" action="/flask/login">
    {{ form.csrf_token }}
    <label>Username {{ form.username(autofocus=true) }}</label>
    <label>{{ form.remember(value="1") }} Remember me</label>
    <button type="submit">Log in</button>
  </form>
  <p>Served by Flask. Then ask either half who you are: <code>/flask/me</code>,
     <code>/rust/me</code>.</p>
</body>
</html>
"""

FORM_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>A form (Flask half)</title></head>
<body>
  <form method="post" action="/flask/submit">
    {{ form.csrf_token }}
    <label>Message {{ form.message() }}</label>
    <button type="submit">Send</button>
  </form>
</body>
</html>
"""


class User(UserMixin):
    """Every non-empty username is a user: the example has no user database."""

    def __init__(self, user_id: str):
        self.id = user_id


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired()])
    # WTForms: any value but "" and "false" is true; the Rust half reads it the same way.
    remember = BooleanField("Remember me")


class MessageForm(FlaskForm):
    message = TextAreaField("Message")


def text(body: str, status: int = 200) -> Response:
    # Plain text: a username echoed in HTML would be an injection.
    return Response(body, status, mimetype="text/plain")


def parse_bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("", "0", "false", "no", "off"):
        return False
    raise SystemExit(f"{name} must be true or false, got {value!r}")


def configure_session(app: Flask, store: str) -> str:
    """Sets up the session ``SESSION_STORE`` asks for; returns a short description."""
    if store == "cookie":
        return "Flask's cookie session"
    prefix = "flask-session+"
    if not store.startswith(prefix):
        raise SystemExit(
            f"SESSION_STORE must be `cookie` or `flask-session+redis://HOST:PORT`, got {store!r}"
        )
    url = store[len(prefix):]
    if urlsplit(url).scheme != "redis":
        raise SystemExit(f"SESSION_STORE: only Redis is supported after `flask-session+`, got {url!r}")
    # Imported only here, so the cookie mode needs neither Flask-Session nor redis-py.
    import redis
    from flask_session import Session

    app.config["SESSION_TYPE"] = "redis"
    app.config["SESSION_REDIS"] = redis.Redis.from_url(url)
    app.config["SESSION_KEY_PREFIX"] = os.environ.get("SESSION_KEY_PREFIX", "session:")
    app.config["SESSION_USE_SIGNER"] = parse_bool(
        "SESSION_USE_SIGNER", os.environ.get("SESSION_USE_SIGNER", "false")
    )
    Session(app)
    signer = "signed" if app.config["SESSION_USE_SIGNER"] else "unsigned"
    return f"Flask-Session on {url}, keys {app.config['SESSION_KEY_PREFIX']}*, {signer} sid"


def make_app(secret_key: str, store: str) -> tuple[Flask, str]:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = secret_key
    described = configure_session(app, store)

    login_manager = LoginManager(app)
    CSRFProtect(app)

    @login_manager.user_loader
    def load_user(user_id: str):
        return User(user_id) if user_id else None

    @app.get("/flask/login")
    def login_page():
        return render_template_string(LOGIN_PAGE, form=LoginForm())

    @app.post("/flask/login")
    def login():
        # CSRFProtect has checked the token before this runs (400 if bad).
        form = LoginForm()
        if not form.validate():
            return text("Bad Request: a username is required.\n", 400)
        login_user(User(form.username.data), remember=form.remember.data)
        return text(f"Logged in as {form.username.data}")

    @app.get("/flask/me")
    def me():
        if not current_user.is_authenticated:
            return text("Please log in to access this page.\n", 401)
        return text(current_user.get_id())

    @app.get("/flask/logout")
    def logout():
        logout_user()
        return text("Logged out")

    @app.get("/flask/form")
    def form_page():
        return render_template_string(FORM_PAGE, form=MessageForm())

    @app.post("/flask/submit")
    def submit():
        return text("ok")

    @app.get("/flask/session")
    def show_session():
        shown = {k: ("(hidden)" if k == "csrf_token" else v) for k, v in session.items()}
        body = json.dumps(shown, sort_keys=True, default=repr)
        return Response(body + "\n", mimetype="application/json")

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return text(f"Bad Request: {error.description}\n", 400)

    return app, described


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="The Flask half of flagon's seam example")
    p.add_argument("--quiet", action="store_true", help="no banner, no request log")
    args = p.parse_args(argv)
    secret_key = os.environ.get("SECRET_KEY")
    if not secret_key:
        raise SystemExit("SECRET_KEY is not set: give both halves the same secret key")
    port = int(os.environ.get("PORT", "5000"))
    store = os.environ.get("SESSION_STORE", "cookie")
    app, described = make_app(secret_key, store)
    if args.quiet:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        logging.getLogger("flask_wtf.csrf").setLevel(logging.ERROR)

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", port, app, threaded=True)
    if not args.quiet:
        print(f"Flask half on http://127.0.0.1:{server.server_port}/flask/login ({described})",
              file=sys.stderr, flush=True)
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
