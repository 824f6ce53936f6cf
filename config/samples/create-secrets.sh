#!/usr/bin/env bash
# Create the secrets the samples name, bound to the project (only its
# webhooks and tasks may read them): webhook-credentials for webhook.yaml
# (scope keptn-webhook-service, the scope webhooks read) and
# slack-notification for notify-slack.yaml (scope keptn-default, the scope
# tasks read). Values come from the environment; the API never returns them.
set -euo pipefail
cd "$(dirname "$0")"
. ./lib.sh

keptn POST /api/secrets/v1/secret "$(jq -nc --arg p "$PROJECT" --arg t "${WEBHOOK_TOKEN:-change-me}" \
  '{name: "webhook-credentials", scope: "keptn-webhook-service", project: $p, data: {token: $t}}')"
keptn POST /api/secrets/v1/secret "$(jq -nc --arg p "$PROJECT" --arg s "{\"webhook\":\"${SLACK_WEBHOOK_URL:-}\"}" \
  '{name: "slack-notification", scope: "keptn-default", project: $p, data: {SECURE_DATA: $s}}')"
keptn GET /api/secrets/v1/secret
