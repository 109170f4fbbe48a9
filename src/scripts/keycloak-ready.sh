#!/bin/bash
# Exits 0 once keycloak's management port (PORT) says it is ready: keycloak-ready.sh PORT
# The image has no curl; bash's /dev/tcp asks the readiness endpoint (src/services/keycloak.ts).
exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "GET /health/ready HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" >&3 && grep -q "200 OK" <&3
