#!/bin/sh
# The migration of the dev database (src/dev/servers.ts): migrate.sh DB_INIT_LOG COMMAND
# Prints what the load of `--db-init` said (its log, when there was one), then runs the shell command
# COMMAND with its stderr in stdout: alembic logs to stderr, and the caller reads stdout.
log=$1 command=$2
if [ -f "$log" ]; then cat "$log"; fi
eval "$command" 2>&1
