#!/usr/bin/env bash
# A stand-in Lambda function (custom runtime) in bash + curl, only to check that the harness
# works while no `enforcer-lambda` binary exists:
#   cargo run --release --example lambda-harness -- --bin enforcer/benches/fake-function.sh --runs 3 --events 5
set -u
api="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
headers=$(mktemp)
trap 'rm -f "$headers"' EXIT
while true; do
    body=$(curl -sS -D "$headers" "$api/invocation/next") || exit 1
    id=$(grep -i '^lambda-runtime-aws-request-id:' "$headers" | cut -d: -f2 | tr -d ' \r')
    curl -sS -o /dev/null -X POST -H 'Content-Type: application/json' \
        -d "{\"received\": ${#body}}" "$api/invocation/$id/response" || exit 1
done
