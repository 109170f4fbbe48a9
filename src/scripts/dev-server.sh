#!/bin/sh
# flask's dev server on all interfaces (src/dev/servers.ts): dev-server.sh PORT MIGRATE [BESIDE...]
# Starts the shell commands BESIDE in the background, in this container (they see the same files),
# runs the shell command MIGRATE, and only if it succeeds serves the app on PORT: no server on a
# database the migrations could not bring up to date. The commands run in this shell, as written on
# its command line: flask takes its place, and the ones beside stay its children.
port=$1 migrate=$2
shift 2
for beside in "$@"; do
  eval "$beside" &
done
eval "$migrate" && exec flask run --debug --host=0.0.0.0 --port="$port"
