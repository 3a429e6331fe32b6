"""The Flask candidate of flagon's benchmark: the same four routes as the Rust servers,
on Flask's default session (a signed cookie), served by gunicorn with one sync worker:

    gunicorn -w 1 --worker-class sync -b 127.0.0.1:PORT --chdir bench flask_app:app
"""

from flask import Flask, jsonify, session

app = Flask(__name__)
# The same secret as flagon_bench::SECRET; benchmark use only.
app.secret_key = b"flagon-bench-only-secret-never-use-this-key-in-production-000001"


@app.get("/counter")
def counter():
    n = session.get("n", 0) + 1
    session["n"] = n
    return str(n)


@app.get("/read")
def read():
    return str(session.get("n", 0))


@app.get("/put/<key>")
def put(key):
    session[key] = True
    return "ok"


@app.get("/keys")
def keys():
    return jsonify(list(session.keys()))
