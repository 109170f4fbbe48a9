#!/usr/bin/env bash
# Smoke test of the stand-in images with plain docker (no registry needed: build.sh tags
# them locally as ${REGISTRY}/library/<name>:<tag>). Containers are named standin-smoke-*
# and removed at the end; every wait is bounded.
set -euo pipefail
P=${REGISTRY:-127.0.0.1:5000}/library
WORK=$(mktemp -d)
cleanup() { docker rm -f -v standin-smoke-pg standin-smoke-rmq >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT
ip() { docker inspect -f '{{.NetworkSettings.IPAddress}}' "$1"; }

echo "== debian"
docker run --rm "$P/debian:bookworm-slim" sh -c '. /etc/os-release; echo "$PRETTY_NAME"; apt-get update -qq && echo "apt update ok"'

echo "== python"
docker run --rm "$P/python:3.11-slim-bookworm" sh -c '
  set -e; python3 -c "import ssl, venv, sys; print(sys.version.split()[0], ssl.OPENSSL_VERSION)"
  which python python3 pip pip3; pip --version
  pip download -q six -d /tmp/dl && ls /tmp/dl
  pip install -q six 2>/dev/null && python -c "import six; print(\"pip install ok:\", six.__file__)"
  test -f /usr/include/python3.11/Python.h && echo "Python.h present"
  if which gcc cc; then echo "compiler present!"; exit 1; else echo "no gcc/cc (ok)"; fi'

echo "== postgres"
mkdir -p "$WORK/init"
echo "CREATE TABLE smoke (id int); INSERT INTO smoke VALUES (42);" > "$WORK/init/01.sql"
chmod -R a+rX "$WORK"
docker run -d --name standin-smoke-pg -e POSTGRES_PASSWORD=secret -e POSTGRES_DB=pycroft \
  -v "$WORK/init:/docker-entrypoint-initdb.d:ro" --tmpfs /var/lib/postgresql/data \
  "$P/postgres:15" postgres -c fsync=off -c wal_level=minimal -c max_wal_senders=0 >/dev/null
for _ in $(seq 60); do
  docker exec standin-smoke-pg pg_isready -q -h "$(ip standin-smoke-pg)" -U postgres && break; sleep 1
done
docker run --rm -e PGPASSWORD=secret "$P/postgres:15-bookworm" \
  psql -h "$(ip standin-smoke-pg)" -U postgres -d pycroft -tA -c 'SELECT id FROM smoke' -c 'SHOW fsync'
if docker run --rm -e PGPASSWORD=wrong "$P/postgres:15" psql -h "$(ip standin-smoke-pg)" -U postgres -c '' 2>/dev/null
then echo "wrong password accepted!"; exit 1; else echo "wrong password rejected (ok)"; fi

echo "== rabbitmq"
docker run -d --name standin-smoke-rmq --hostname "any-$RANDOM" -e RABBITMQ_DEFAULT_USER=celery \
  -e RABBITMQ_DEFAULT_PASS=celery --tmpfs /var/lib/rabbitmq "$P/rabbitmq:3.10-management" >/dev/null
for _ in $(seq 60); do
  docker exec standin-smoke-rmq rabbitmq-diagnostics -q check_running >/dev/null 2>&1 && break; sleep 2
done
docker exec standin-smoke-rmq rabbitmq-diagnostics -q check_running
docker exec standin-smoke-rmq rabbitmq-diagnostics -q ping
# AMQP 0-9-1 login with celery/celery from another container (pika from PyPI).
docker run --rm -e HOST="$(ip standin-smoke-rmq)" "$P/python:3.11-slim" sh -c '
  pip install -q pika 2>/dev/null; python3 -c "
import os, pika
c = pika.BlockingConnection(pika.ConnectionParameters(os.environ[\"HOST\"], credentials=pika.PlainCredentials(\"celery\", \"celery\")))
ch = c.channel(); ch.queue_declare(\"smoke\"); ch.basic_publish(\"\", \"smoke\", b\"hi\")
print(\"AMQP login as celery ok, message:\", ch.basic_get(\"smoke\", auto_ack=True)[2]); c.close()"'
echo "ALL OK"
