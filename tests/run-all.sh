#!/usr/bin/env bash
# Runs every test of the project on a fresh machine.
#
# Installs what the tests need by itself: the local AWS stand-in (moto's server, pinned in
# tests/requirements.txt) into a project-local virtualenv, then runs the whole cargo test suite.
# The AWS integration tests start their own moto server on 127.0.0.1; they never reach AWS.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${ENFORCER_VENV:-$PWD/.venv}"
if [ ! -x "$VENV/bin/moto_server" ] || ! cmp -s tests/requirements.txt "$VENV/.requirements"; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r tests/requirements.txt
    cp tests/requirements.txt "$VENV/.requirements"
fi
export ENFORCER_MOTO_SERVER="$VENV/bin/moto_server"

# The deployable templates: cfn-lint and checkov, each in a cached virtualenv of its own.
ENFORCER_VENV="$VENV" bash infra/check.sh

cargo test --workspace --locked "$@"
