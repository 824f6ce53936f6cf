#!/usr/bin/env bash
# Start a delivery of image $IMAGE in dev; prints {"keptnContext": "..."}.
# hardening and production follow (triggeredOn), production after approval.
set -euo pipefail
cd "$(dirname "$0")"
. ./lib.sh

IMAGE="${IMAGE:-ghcr.io/podtato-head/head:0.3.0}"
keptn POST /api/v1/event "$(jq -nc --arg p "$PROJECT" --arg i "$IMAGE" '{
  type: "sh.keptn.event.dev.delivery.triggered", specversion: "1.0", source: "ci",
  data: {project: $p, stage: "dev", service: "head", configurationChange: {values: {image: $i}}}}')"
