#!/usr/bin/env bash
# Deploy one image digest to a server with the deploy tool, over SSH (release.yml, rollback.yml).
#
#   deploy-over-ssh.sh deploy     migrate, roll, verify (deploy/deploy.py deploy)
#   deploy-over-ssh.sh rollback   the same without migrations: an earlier release runs on the
#                                 current schema (expand/contract), never a migration down
#
# Everything comes from the environment, set by the workflow from GitHub secrets and job
# outputs, never interpolated into this script:
#   DEPLOY_HOST, DEPLOY_USER, DEPLOY_PORT (default 22), DEPLOY_SSH_KEY (private key),
#   DEPLOY_KNOWN_HOSTS (the server's host key line(s): the key is pinned, never learnt),
#   DEPLOY_DIR (the stack's directory on the server, where deploy/compose/.env lives),
#   APP_IMAGE + APP_DIGEST, WORKER_IMAGE + WORKER_DIGEST, RELEASE,
#   REGISTRY_USER + REGISTRY_TOKEN (the job's GITHUB_TOKEN with packages: read; the server
#   logs in only for the pull and logs out at once).
set -euo pipefail

mode=${1:-}
case "$mode" in
  deploy) extra=() ;;
  rollback) extra=(--skip-migrations) ;;
  *) echo "usage: $0 deploy|rollback" >&2; exit 64 ;;
esac

fail() { echo "deploy-over-ssh: $*" >&2; exit 65; }
need() { [ -n "${!1:-}" ] || fail "$1 is not set"; }
for name in DEPLOY_HOST DEPLOY_USER DEPLOY_SSH_KEY DEPLOY_KNOWN_HOSTS DEPLOY_DIR APP_IMAGE \
  APP_DIGEST WORKER_IMAGE WORKER_DIGEST RELEASE REGISTRY_USER REGISTRY_TOKEN; do
  need "$name"
done
port=${DEPLOY_PORT:-22}

# Strict shapes: every value that reaches the server's shell is one of these, so quoting
# cannot be escaped whatever a secret or an input holds.
[[ $DEPLOY_HOST =~ ^[A-Za-z0-9.-]+$ ]] || fail "DEPLOY_HOST is not a host name or address"
[[ $DEPLOY_USER =~ ^[a-z_][a-z0-9_-]*$ ]] || fail "DEPLOY_USER is not a user name"
[[ $port =~ ^[0-9]{1,5}$ ]] || fail "DEPLOY_PORT is not a port"
[[ $DEPLOY_DIR =~ ^/[A-Za-z0-9._/-]+$ ]] || fail "DEPLOY_DIR is not an absolute path"
for name in APP WORKER; do
  image_var="${name}_IMAGE" digest_var="${name}_DIGEST"
  [[ ${!image_var} =~ ^ghcr\.io/[a-z0-9._/-]+$ ]] || fail "$image_var is not a ghcr.io image name"
  [[ ${!digest_var} =~ ^sha256:[0-9a-f]{64}$ ]] || fail "$digest_var is not a sha256 digest"
done
[[ $RELEASE =~ ^[A-Za-z0-9._+-]{1,128}$ ]] || fail "RELEASE is not a release name"
[[ $REGISTRY_USER =~ ^[A-Za-z0-9_.-]+(\[bot\])?$ ]] || fail "REGISTRY_USER is not a user name"

app_ref="$APP_IMAGE@$APP_DIGEST"
worker_ref="$WORKER_IMAGE@$WORKER_DIGEST"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 077
printf '%s\n' "$DEPLOY_SSH_KEY" >"$work/key"
printf '%s\n' "$DEPLOY_KNOWN_HOSTS" >"$work/known_hosts"
ssh_opts=(
  -i "$work/key" -p "$port"
  -o IdentitiesOnly=yes -o BatchMode=yes
  -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$work/known_hosts"
  -o ConnectTimeout=20 -o ServerAliveInterval=30
)
# The command line is built here on purpose (SC2029): every word in it passed a shape check above.
# shellcheck disable=SC2029
remote() { ssh "${ssh_opts[@]}" "$DEPLOY_USER@$DEPLOY_HOST" "$*"; }

echo "pulling $app_ref and $worker_ref on $DEPLOY_HOST"
printf '%s' "$REGISTRY_TOKEN" | remote docker login ghcr.io --username "$REGISTRY_USER" --password-stdin
pulled=0
remote docker pull --quiet "$app_ref" "&&" docker pull --quiet "$worker_ref" || pulled=$?
remote docker logout ghcr.io
[ "$pulled" -eq 0 ] || fail "the server could not pull the images"

echo "$mode of $RELEASE ($app_ref) on $DEPLOY_HOST"
remote cd "$DEPLOY_DIR" "&&" python3 deploy/deploy.py deploy "$app_ref" \
  --worker-image "$worker_ref" --release "$RELEASE" "${extra[@]}"
