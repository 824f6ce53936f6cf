#!/usr/bin/env bash
# A remediation action provider: runs only for action.triggered whose
# data.action.action is "scale" (remediation.yaml). The action's value is in
# VALUE (a string) or VALUE_<KEY> (a map).
set -euo pipefail
echo "scaling ${DATA_SERVICE} in ${DATA_STAGE} by ${VALUE:-1}"
