#!/usr/bin/env bash
# Makes the Python environment the Python tests use, idempotently: a virtual environment at
# target/python-venv with python/requirements-test.txt installed. Prints the environment's
# python on stdout.
#   scripts/python-env.sh
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/python-venv
requirements=python/requirements-test.txt
stamp="$venv/.requirements"
if [[ ! -x "$venv/bin/python" ]]; then
  echo "python-env: creating $venv" >&2
  mkdir -p target
  python3 -m venv "$venv"
fi
if ! cmp -s "$requirements" "$stamp"; then
  echo "python-env: installing $requirements (a few minutes the first time)" >&2
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$requirements" >&2
  cp "$requirements" "$stamp"
fi
echo "$PWD/$venv/bin/python"
