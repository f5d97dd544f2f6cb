#!/usr/bin/env bash
# Builds the enforcer for deployment into .aws-sam/build/: `sam build` compiles enforcer-lambda
# with cargo-lambda (arm64, release) into EnforcerFunction/bootstrap, then this script puts the
# policies beside it, in EnforcerFunction/policies/, and checks that they load.
#
#   infra/build.sh [POLICY_DIR]        # default: policies/
#
# Why a step after `sam build`: SAM's rust-cargolambda builder copies only the `bootstrap` binary
# into the artifact, and cargo-lambda's `--include` (or `package.metadata.lambda.build.include`)
# only adds files to the zip it makes with `--output-format zip`, which SAM does not use. The
# function reads $ENFORCER_POLICY_DIR, by default $LAMBDA_TASK_ROOT/policies, i.e. this folder.
#
# Needs: a Rust toolchain, cargo-lambda and the SAM CLI on PATH (infra/README.md: Prerequisites).
set -euo pipefail
cd "$(dirname "$0")/.."

POLICY_DIR="${1:-policies}"
ARTIFACT=.aws-sam/build/EnforcerFunction

# SAM looks for target/lambda/enforcer-lambda/bootstrap under CodeUri (the workspace root): a
# CARGO_TARGET_DIR elsewhere would hide the binary from it.
unset CARGO_TARGET_DIR

sam build --template-file infra/template.yaml --build-dir .aws-sam/build --beta-features

shopt -s nullglob
policies=("$POLICY_DIR"/*.toml)
if [ ${#policies[@]} -eq 0 ]; then
    echo "infra/build.sh: no *.toml policy in $POLICY_DIR" >&2
    exit 2
fi
rm -rf "$ARTIFACT/policies"
mkdir -p "$ARTIFACT/policies"
cp "${policies[@]}" "$ARTIFACT/policies/"

# A function whose policies do not validate fails at start: find out now. `check` exits 2 on a
# bad policy, and decides nothing here (no events on stdin).
echo '[]' | cargo run --quiet --locked --bin enforcer -- check --policies "$ARTIFACT/policies" - >/dev/null

echo "infra/build.sh: $ARTIFACT holds bootstrap and policies/ (${#policies[@]} file(s)); next: sam deploy (infra/README.md)"
