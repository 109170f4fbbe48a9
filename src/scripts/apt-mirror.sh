#!/bin/sh
# Points Debian's main archive at a mirror in apt's sources, both formats (src/images/apt.ts):
#   apt-mirror.sh MIRROR
# Only deb.debian.org/debian itself: security updates (debian-security) stay upstream.
mirror=$1
for sources in /etc/apt/sources.list /etc/apt/sources.list.d/*; do
  [ -f "$sources" ] || continue
  sed -i -E "s#https?://deb\.debian\.org/debian([[:space:]]|\$)#$mirror\1#g" "$sources" || exit 1
done
