#!/usr/bin/env bash
# generic-executor-service compatible: runs for every deployment.triggered of
# the project (upload it at service or stage level to narrow it down). The
# event (structured CloudEvent JSON) is in the file named by $1; Keptn's
# variables (DATA_PROJECT, DATA_STAGE, DATA_SERVICE, CONTEXT, …) are in
# the environment. Exit 0 = pass; anything else = fail. stdout is the message.
set -euo pipefail
echo "deploying ${DATA_SERVICE} to ${DATA_STAGE} of ${DATA_PROJECT} (context ${CONTEXT})"
# kubectl/helm/argocd calls go here.
