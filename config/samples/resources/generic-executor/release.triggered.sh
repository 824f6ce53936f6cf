#!/usr/bin/env bash
# generic-executor-service compatible: promotes the deployment that passed
# the quality gate (the evaluation's result is in DATA_RESULT).
set -euo pipefail
echo "releasing ${DATA_SERVICE} in ${DATA_STAGE} (evaluation: ${DATA_RESULT:-none})"
