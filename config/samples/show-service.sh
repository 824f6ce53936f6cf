#!/usr/bin/env bash
# Show what is deployed in a stage ($1, default dev): the service view's
# deployedImage and lastEventTypes, and the sequences of the project.
set -euo pipefail
cd "$(dirname "$0")"
. ./lib.sh

keptn GET "/api/controlPlane/v1/project/$PROJECT/stage/${1:-dev}/service/head"
keptn GET "/api/controlPlane/v1/sequence/$PROJECT?pageSize=5"
