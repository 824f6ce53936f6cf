#!/usr/bin/env bash
# Create the project from shipyard.yaml and its service "head".
set -euo pipefail
cd "$(dirname "$0")"
. ./lib.sh

keptn POST /api/controlPlane/v1/project "{\"name\":\"$PROJECT\",\"shipyard\":\"$(b64 shipyard.yaml)\"}"
keptn POST "/api/controlPlane/v1/project/$PROJECT/service" '{"serviceName":"head"}'
