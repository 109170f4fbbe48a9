#!/bin/sh
# Creates the app's group and user idempotently (src/images/base.ts): add-user.sh UID GID NAME HOME
set -eu
uid=$1 gid=$2 name=$3 home=$4
getent group "$gid" >/dev/null || groupadd --gid "$gid" "$name"
id -u "$name" >/dev/null 2>&1 || useradd --non-unique --uid "$uid" --gid "$gid" \
  --home-dir "$home" --create-home --comment Application "$name"
# ~/.cache is the user's, not root's as the engine would make it for the uv cache mounted inside:
# tools that keep a cache of their own there (sphinx-toolbox, pre-commit, …) must be able to write.
mkdir -p "$home/.cache" && chown "$uid:$gid" "$home" "$home/.cache"
