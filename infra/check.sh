#!/usr/bin/env bash
# Lints every deployable template in infra/: cfn-lint (CloudFormation and SAM rules), then checkov
# (security policy-as-code), both offline. Called by tests/run-all.sh; runs alone as well.
#
# Installs each tool into a virtualenv of its own, pinned in infra/requirements-*.txt (checkov
# pins its own boto3/botocore and must not share an environment with other tools). A virtualenv
# is reused while its requirements file is unchanged. Locations: $ENFORCER_CFN_LINT_VENV and
# $ENFORCER_CHECKOV_VENV, else beside $ENFORCER_VENV (the test venv) when that is set, else
# .venv-cfn-lint and .venv-checkov in the repository.
#
# A checkov rule may be skipped only in the template itself, next to the resource, with the
# reason: `Metadata: checkov: skip: [{id: CKV_…, comment: …}]`.
set -euo pipefail
cd "$(dirname "$0")/.."

TEMPLATES=(infra/template.yaml infra/member.yaml)
CFN_LINT_VENV="${ENFORCER_CFN_LINT_VENV:-${ENFORCER_VENV:+$ENFORCER_VENV-cfn-lint}}"
CFN_LINT_VENV="${CFN_LINT_VENV:-$PWD/.venv-cfn-lint}"
CHECKOV_VENV="${ENFORCER_CHECKOV_VENV:-${ENFORCER_VENV:+$ENFORCER_VENV-checkov}}"
CHECKOV_VENV="${CHECKOV_VENV:-$PWD/.venv-checkov}"

# shellcheck source=infra/venv.sh
source infra/venv.sh
pinned() { grep -h "^$1==" "infra/requirements-$1.txt"; }

install_venv "$CFN_LINT_VENV" infra/requirements-cfn-lint.txt cfn-lint
install_venv "$CHECKOV_VENV" infra/requirements-checkov.txt checkov

start=$(now)
"$CFN_LINT_VENV/bin/cfn-lint" "${TEMPLATES[@]}"
echo "infra/check.sh: $(pinned cfn-lint): ${TEMPLATES[*]} clean in $(since "$start") s"

start=$(now)
files=()
for template in "${TEMPLATES[@]}"; do files+=(--file "$template"); done
# --skip-download and no update check: the network is closed, and the checks ship with checkov.
CKV_SKIP_PACKAGE_UPDATE_CHECK=true BC_SKIP_MAPPING=TRUE \
    "$CHECKOV_VENV/bin/checkov" --framework cloudformation --skip-download --compact --quiet \
    "${files[@]}"
echo "infra/check.sh: $(pinned checkov): ${TEMPLATES[*]} clean in $(since "$start") s"
