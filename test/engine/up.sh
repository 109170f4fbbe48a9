#!/bin/bash
# Provision and start a real Dagger engine on this machine, then print the client environment:
#   eval "$(test/engine/up.sh)"     # or: test/engine/up.sh >/tmp/dagger.env && . /tmp/dagger.env
# Steps (each skips when already done): docker daemon, Go builds, images, registry, engine.
# Only the exports go to stdout; progress and timings go to stderr.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VERSION="v$(dagger_version)"
ENGINE_IMAGE="pycroft-dagger-engine:$VERSION"
REGISTRY_IMAGE=pycroft-registry:2.8

# ensure_container NAME IMAGE DOCKER_RUN_ARGS...: keep NAME if it runs IMAGE, else (re)create it
# (containers hold no state: that is in the volumes).
ensure_container() {
  local name="$1" image="$2"; shift 2
  if [ "$(docker inspect -f '{{.Image}} {{.State.Running}}' "$name" 2>/dev/null)" = \
       "$(docker image inspect -f '{{.Id}}' "$image") true" ]; then
    echo "$name is running" >&2; return 0
  fi
  remove_container "$name"
  docker run -d --name "$name" "$@" "$image" >/dev/null
  echo "created $name" >&2
}

registry() {
  # The engine joins this container's network namespace, so 127.0.0.1:5000 is the registry both
  # inside the engine and (published) on the host, where tests push stand-in images.
  ensure_container pycroft-registry "$REGISTRY_IMAGE" \
    -p 127.0.0.1:5000:5000 -v pycroft-registry-data:/var/lib/docker-registry
  for _ in $(seq 30); do curl -fsS http://127.0.0.1:5000/v2/ >/dev/null 2>&1 && return 0; sleep 1; done
  docker logs --tail 20 pycroft-registry >&2; return 1
}

engine() {
  # If the registry was recreated, the engine's shared netns is gone: recreate the engine too.
  if [ "$(docker inspect -f '{{.HostConfig.NetworkMode}}' pycroft-dagger-engine 2>/dev/null)" != \
       "container:$(docker inspect -f '{{.Id}}' pycroft-registry)" ]; then
    remove_container pycroft-dagger-engine
  fi
  # Privileged: the engine runs runc, mounts overlayfs and sets up a CNI bridge (upstream supports
  # nothing less). /var/lib/dagger must be a volume: overlayfs can't stack on the container's root.
  # (Upstream raises nofile to 1048576; without CAP_SYS_RESOURCE the VM's hard limit, 20000, stays.)
  ensure_container pycroft-dagger-engine "$ENGINE_IMAGE" --privileged \
    --network container:pycroft-registry -v pycroft-dagger-state:/var/lib/dagger
  wait_for_engine
}

# After an unclean stop (SIGKILL, a machine restored from a snapshot) the engine deletes its whole
# cache before it listens, which takes minutes for a big one: wait as long as it is alive and says so.
wait_for_engine() {
  local since=$SECONDS limit="${PYCROFT_ENGINE_START_TIMEOUT:-1800}" said=$SECONDS running
  until docker exec pycroft-dagger-engine test -S /run/dagger/engine.sock 2>/dev/null; do
    running=$(docker inspect -f '{{.State.Running}}' pycroft-dagger-engine)
    if [ "$running" != true ] || [ $((SECONDS - since)) -ge "$limit" ]; then
      echo "the engine did not start (running: $running, after $((SECONDS - since))s):" >&2
      docker logs --tail 40 pycroft-dagger-engine >&2; return 1
    fi
    if [ $((SECONDS - said)) -ge 30 ]; then
      said=$SECONDS
      echo "waiting for the engine ($((SECONDS - since))s): $(docker logs --tail 1 pycroft-dagger-engine 2>&1 | cut -c1-160)" >&2
    fi
    sleep 1
  done
}

start=$SECONDS
"$ENGINE_DIR/docker.sh" >&2
"$ENGINE_DIR/build-dagger.sh" >&2
"$ENGINE_DIR/engine-image.sh" >&2
phase "up: registry" registry
# The images the module pulls by default, made from Debian packages (nothing can be pulled here).
phase "up: stand-in images" bash "$ENGINE_DIR/standins/build.sh" >&2
phase "up: engine" engine
# DAGGER_PROGRESS=plain: this CLI build has no interactive TUI (see gostubs/tuist), and on a TTY it
# would otherwise pick it and hang.
CLIENT_ENV="export _EXPERIMENTAL_DAGGER_CLI_BIN=$CACHE/bin/dagger
export _EXPERIMENTAL_DAGGER_RUNNER_HOST=docker-container://pycroft-dagger-engine
export DAGGER_PROGRESS=plain DAGGER_NO_NAG=1"
# The arm64 half of the python stand-in is built by the engine itself.
phase "up: multi-platform stand-ins" bash -c "$CLIENT_ENV; bash '$ENGINE_DIR/standins/multiarch.sh'" >&2
echo "engine up in $((SECONDS - start))s total" >&2
echo "$CLIENT_ENV"
