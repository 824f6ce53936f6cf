#!/usr/bin/env bash
# Upload the resources through Keptn 1.x's configuration-service paths (an
# alias of /api/resource-service): the executors' scripts, the webhook, the
# task definition and the quality gate at project level, remediation.yaml for
# service head in production.
set -euo pipefail
cd "$(dirname "$0")"
. ./lib.sh

for f in generic-executor/deployment.triggered.sh generic-executor/test.triggered.py \
         generic-executor/release.triggered.sh generic-executor/action.triggered.scale.sh \
         webhook/webhook.yaml task-definitions/notify-slack.yaml \
         slo.yaml prometheus/sli.yaml lighthouse-config.yaml; do
  keptn POST "/api/configuration-service/v1/project/$PROJECT/resource" \
    "{\"resources\":[{\"resourceURI\":\"$f\",\"resourceContent\":\"$(b64 "resources/$f")\"}]}"
done
keptn POST "/api/configuration-service/v1/project/$PROJECT/stage/production/service/head/resource" \
  "{\"resources\":[{\"resourceURI\":\"remediation.yaml\",\"resourceContent\":\"$(b64 resources/service/remediation.yaml)\"}]}"
