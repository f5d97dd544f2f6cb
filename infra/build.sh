#!/usr/bin/env bash
# Builds the enforcer for deployment into .aws-sam/build/: checks the policies, then `sam build`
# compiles enforcer-lambda with cargo-lambda (the `lambda` profile) into
# EnforcerFunction/bootstrap and puts the policies beside it, in EnforcerFunction/policies/.
#
#   infra/build.sh [--arch arm64|x86_64] [POLICY_DIR]      # defaults: arm64, policies/
#
# Tools: the SAM CLI, cargo-lambda and Zig, pinned in infra/requirements-build.txt, installed into
# a virtualenv of their own and reused while that file is unchanged ($ENFORCER_BUILD_VENV, else
# beside $ENFORCER_VENV when that is set, else .venv-build in the repository). Also needs a Rust
# toolchain, and the `enforcer` command to check the policies (`cargo install --path enforcer
# --locked`, README.md) or $ENFORCER_CLI naming it: a second build of the workspace only for that
# check would double the time. cargo-lambda installs the aarch64 standard library with rustup
# when it is missing.
#
# `sam build` runs infra/Makefile (`BuildMethod: makefile`) in the workspace root: it builds
# enforcer-lambda with cargo-lambda and the `lambda` profile into
# .aws-sam/build/EnforcerFunction/bootstrap and copies the policies beside it, in policies/ (the
# function reads $ENFORCER_POLICY_DIR, by default $LAMBDA_TASK_ROOT/policies: that folder).
set -euo pipefail
cd "$(dirname "$0")/.."

ARCH=arm64
if [ "${1:-}" = "--arch" ]; then
    ARCH=${2:?infra/build.sh: --arch needs arm64 or x86_64}
    shift 2
fi
case "$ARCH" in
    arm64 | x86_64) ;;
    *) echo "infra/build.sh: --arch $ARCH: arm64 or x86_64" >&2; exit 2 ;;
esac
POLICY_DIR="${1:-policies}"
ARTIFACT=.aws-sam/build/EnforcerFunction

# shellcheck source=infra/venv.sh
source infra/venv.sh
BUILD_VENV="${ENFORCER_BUILD_VENV:-${ENFORCER_VENV:+$ENFORCER_VENV-build}}"
BUILD_VENV="${BUILD_VENV:-$PWD/.venv-build}"
install_venv "$BUILD_VENV" infra/requirements-build.txt sam

# The policies first: a function whose policies do not validate fails at start. `check` exits 2
# on a bad policy, and decides nothing here (no events on stdin).
shopt -s nullglob
policies=("$POLICY_DIR"/*.toml)
if [ ${#policies[@]} -eq 0 ]; then
    echo "infra/build.sh: no *.toml policy in $POLICY_DIR" >&2
    exit 2
fi
CLI="${ENFORCER_CLI:-$(command -v enforcer || true)}"
if [ -z "$CLI" ]; then
    echo "infra/build.sh: the enforcer command checks the policies; install it with" \
        "\`cargo install --path enforcer --locked\` or set ENFORCER_CLI" >&2
    exit 2
fi
echo '[]' | "$CLI" check --policies "$POLICY_DIR" - >/dev/null

# What infra/Makefile builds: the architecture and the policy folder (absolute: make runs in the
# workspace root).
export ENFORCER_LAMBDA_ARCH="$ARCH"
ENFORCER_BUILD_POLICY_DIR="$(cd "$POLICY_DIR" && pwd)"
export ENFORCER_BUILD_POLICY_DIR

start=$(now)
# No usage metrics sent to AWS from a build.
SAM_CLI_TELEMETRY=0 PATH="$BUILD_VENV/bin:$PATH" sam build \
    --template-file infra/template.yaml \
    --build-dir .aws-sam/build \
    --build-in-source \
    --parameter-overrides "Architecture=$ARCH"
built=$(since "$start")

echo "infra/build.sh: $ARCH bootstrap ($(stat -c %s "$ARTIFACT/bootstrap") bytes) built in" \
    "$built s; $ARTIFACT holds it and policies/ (${#policies[@]} file(s));" \
    "next: sam deploy --parameter-overrides Architecture=$ARCH … (infra/README.md)"
