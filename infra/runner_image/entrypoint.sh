#!/usr/bin/env bash
# One ephemeral runner: register with a GitHub App installation's token, run one job, exit (docs/github-runners.md).
# Environment (set by the Container Apps job): GITHUB_URL (https://github.com/<org> or .../<owner>/<repo>),
# GITHUB_APP_ID, GITHUB_APP_INSTALLATION_ID, GITHUB_APP_KEY (the App's PEM key, a Key Vault reference),
# RUNNER_LABELS; GITHUB_API_URL only to point the calls elsewhere (tests).
set -euo pipefail

api="${GITHUB_API_URL:-https://api.github.com}"
scope="${GITHUB_URL#https://github.com/}"
case "${scope}" in
  */*) runners="repos/${scope}/actions/runners" ;;
  *) runners="orgs/${scope}/actions/runners" ;;
esac

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
github_post() {  # github_post <bearer token> <path>: the JSON answer's `token`
  curl --fail --silent --show-error --location --request POST \
    --header "Authorization: Bearer $1" --header "Accept: application/vnd.github+json" \
    --header "X-GitHub-Api-Version: 2022-11-28" "${api}/$2" | jq --raw-output --exit-status .token
}

# The App's JWT (RS256, issued a minute back for clock drift, valid under GitHub's 10-minute limit).
now="$(date +%s)"
header="$(printf '{"alg":"RS256","typ":"JWT"}' | b64url)"
payload="$(printf '{"iat":%d,"exp":%d,"iss":"%s"}' "$((now - 60))" "$((now + 540))" "${GITHUB_APP_ID}" | b64url)"
key_file="$(mktemp)"
printf '%s\n' "${GITHUB_APP_KEY}" > "${key_file}"
signature="$(printf '%s.%s' "${header}" "${payload}" | openssl dgst -sha256 -sign "${key_file}" -binary | b64url)"
rm -f "${key_file}"

installation_token="$(github_post "${header}.${payload}.${signature}" "app/installations/${GITHUB_APP_INSTALLATION_ID}/access_tokens")"
registration_token="$(github_post "${installation_token}" "${runners}/registration-token")"

# Nothing the workflow's steps inherit may register runners or act as the job's identity: drop the App's key,
# the installation token and the managed identity endpoint (image pulls and the key's Key Vault reference are
# resolved by the platform, not in here).
unset GITHUB_APP_KEY installation_token IDENTITY_ENDPOINT IDENTITY_HEADER MSI_ENDPOINT MSI_SECRET

./config.sh --url "${GITHUB_URL}" --token "${registration_token}" --labels "${RUNNER_LABELS}" \
  --name "$(hostname)" --ephemeral --unattended --disableupdate
unset registration_token
exec ./run.sh
