# moby/buildkit's image, for buildx's docker-container driver: buildkitd and buildctl (built by
# tools.sh from the Go module proxy) and runc, on the Debian stand-in rootfs (nothing can be pulled here).
FROM pycroft-standin/debian-rootfs:bookworm
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      ca-certificates git openssh-client pigz xz-utils >/dev/null \
 && rm -rf /var/lib/apt/lists/*
COPY bin/buildkitd bin/buildctl /usr/bin/
COPY bin/runc /usr/bin/buildkit-runc
RUN ln -s /usr/bin/buildkit-runc /usr/bin/runc && mkdir -p /var/lib/buildkit
VOLUME /var/lib/buildkit
ENTRYPOINT ["buildkitd"]
