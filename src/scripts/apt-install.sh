#!/bin/sh
# apt-get update, then install the packages (src/images/apt.ts): apt-install.sh MIRROR PACKAGE...
# (MIRROR: empty for Debian's own archive.)
mirror=$1; shift
if [ -n "$mirror" ]; then
  apt-get update -q --error-on=any -o Acquire::http::Timeout=20 -o Acquire::Retries=1 || {
    echo "apt could not update from the Debian mirror $mirror: check --apt-mirror (a Debian archive, as http://deb.debian.org/debian is) and that the engine reaches it" >&2
    exit 1
  }
else
  apt-get update -q
fi
apt-get install -y -q --no-install-recommends "$@"
