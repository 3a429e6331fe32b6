#!/bin/sh
# Creates <repo>/.venv with the pinned Flask stack used by the interop tests and the
# vector generator, then prints the interpreter path. Safe to rerun: when everything is
# already installed at the pinned versions it returns quickly without touching PyPI.
#
#   tests/flask/setup.sh            # then: FLAGON_PYTHON=$(tests/flask/setup.sh | tail -n1)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
venv="$repo/.venv"
req="$here/requirements.txt"
python="$venv/bin/python"

if [ ! -x "$python" ]; then
    command -v python3 >/dev/null || {
        echo "setup.sh: python3 not found; install Python 3.9+ (e.g. apt-get install python3 python3-venv)" >&2
        exit 1
    }
    echo "creating $venv" >&2
    python3 -m venv "$venv" || {
        rm -rf "$venv"
        echo "setup.sh: 'python3 -m venv' failed; on Debian/Ubuntu install python3-venv" >&2
        exit 1
    }
fi

# Quick path: every pinned requirement is already satisfied.
if "$python" - "$req" <<'PY' >/dev/null 2>&1
import sys
from importlib.metadata import version
for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    name, _, want = line.partition("==")
    if version(name) != want:
        sys.exit(1)
PY
then
    echo "pinned Flask stack already installed" >&2
else
    echo "installing $req" >&2
    "$python" -m pip install --disable-pip-version-check -q -r "$req" >&2
fi

echo "$python"
