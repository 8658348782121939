# shardkv image: shardkv-node (storage and controller roles), the shardkv CLI
# and shardkv-operator. Built with the same scripts CI uses:
#   docker build -t shardkv:dev .
# Stage 1 installs the Debian 12 build dependencies (scripts/install-deps.sh)
# and builds the release tree (scripts/build.sh release); stage 2 is Debian 12
# slim with only the shared libraries those binaries load.

FROM debian:12 AS build
ENV DEBIAN_FRONTEND=noninteractive
WORKDIR /src
# Dependencies first, so a source change does not reinstall them.
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN SHARDKV_JOBS="$(nproc)" scripts/build.sh release
# Collect the binaries and the Debian packages of the libraries they link, so
# the runtime stage installs exactly those. shardkv-operator is optional until
# the operator's main lands (operator/); the image then carries it too.
RUN set -eu; mkdir -p /out/bin; \
    for b in shardkv-node shardkv shardkv-operator; do \
      f="$(find build -name "$b" -type f -perm -u+x | head -n1)"; \
      if [ -n "$f" ]; then cp "$f" /out/bin/; \
      else echo "note: $b not built, not in the image"; fi; \
    done; \
    [ -x /out/bin/shardkv-node ] && [ -x /out/bin/shardkv ]; \
    # With merged /usr, ldd may name /lib/... where dpkg knows /usr/lib/...
    for lib in $(ldd /out/bin/* | awk '/=> \//{print $3}' | sort -u); do \
      pkg="$(dpkg -S "$lib" 2>/dev/null || dpkg -S "/usr$lib" 2>/dev/null \
             || dpkg -S "$(readlink -f "$lib")" 2>/dev/null)" \
        || { echo "no Debian package ships $lib" >&2; exit 1; }; \
      echo "${pkg%%:*}"; \
    done > /tmp/packages; \
    sort -u /tmp/packages > /out/runtime-packages; \
    cat /out/runtime-packages

FROM debian:12-slim
ENV DEBIAN_FRONTEND=noninteractive
COPY --from=build /out/runtime-packages /tmp/runtime-packages
RUN apt-get update -q \
    && xargs -a /tmp/runtime-packages apt-get install -y -q --no-install-recommends \
    && apt-get install -y -q --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages
COPY --from=build /out/bin/ /usr/local/bin/
# Nodes keep their Raft log and data under /var/lib/shardkv (a PVC on
# Kubernetes). Non-root, the uid the manifests' securityContext expects.
RUN mkdir -p /var/lib/shardkv && chown 65532:65532 /var/lib/shardkv
USER 65532:65532
WORKDIR /var/lib/shardkv
ENTRYPOINT ["shardkv-node"]
