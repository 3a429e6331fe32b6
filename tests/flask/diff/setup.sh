#!/bin/sh
# Creates one virtualenv per Flask version for the differential tests, under
# <repo>/.venv-diff/flask-<version>/, from requirements-<version>.txt beside this file,
# and prints one interpreter path per line. Safe to rerun: a venv whose pins are all
# installed is left alone and PyPI is not asked.
#
#   tests/flask/diff/setup.sh            # all three: 2.3 3.0 3.1
#   tests/flask/diff/setup.sh 3.1        # only these
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
versions=${*:-2.3 3.0 3.1}

command -v python3 >/dev/null || {
    echo "setup.sh: python3 not found (apt-get install python3 python3-venv)" >&2
    exit 1
}

for version in $versions; do
    req="$here/requirements-$version.txt"
    [ -f "$req" ] || { echo "setup.sh: no $req" >&2; exit 1; }
    venv="$repo/.venv-diff/flask-$version"
    python="$venv/bin/python"
    if [ ! -x "$python" ]; then
        echo "creating $venv" >&2
        python3 -m venv "$venv" || {
            rm -rf "$venv"
            echo "setup.sh: 'python3 -m venv' failed; on Debian install python3-venv" >&2
            exit 1
        }
    fi
    if "$python" - "$req" <<'PY' >/dev/null 2>&1
import sys
from importlib.metadata import version
for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if line:
        name, _, want = line.partition("==")
        if version(name) != want:
            sys.exit(1)
PY
    then
        echo "flask $version: pins already installed" >&2
    else
        echo "flask $version: installing $req" >&2
        "$python" -m pip install --disable-pip-version-check -q -r "$req" >&2
    fi
    echo "$python"
done
