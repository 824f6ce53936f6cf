# Shared by the sample scripts (sourced, not run): the API address and token
# come from the environment, every request fails loudly with Keptn's error body.
: "${API:=http://127.0.0.1:8080}"   # or https://api.slipway.<your-domain>
: "${TOKEN:?set TOKEN to the API token (x-token)}"
PROJECT="${PROJECT:-podtato-head}"

b64() { base64 -w0 "$1"; }

# keptn METHOD PATH [BODY]: one API request; prints the answer.
keptn() {
  curl -sS --fail-with-body -X "$1" -H "x-token: $TOKEN" -H 'content-type: application/json' \
    "$API$2" ${3:+-d "$3"}
  echo
}
