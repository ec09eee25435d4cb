# syntax=docker/dockerfile:1
# One image, two entrypoints (both run from /app):
#   operator    node dist/operator/src/main.js                     the default command (charts/glance-operator)
#   api-server  node dist/api-server/src/main.js --config-file …   what the operator's Deployment and Job run
# Node 26 is the Active LTS line since October 2026 (Node 24 is in maintenance). Every stage is Debian trixie,
# so the librbd the addon is compiled against is the librbd it loads.
ARG NODE_IMAGE=node:26-trixie-slim
# The two `npm ci` steps take the build machine's CA bundle as the optional secret `ca-bundle`
# (`--secret id=ca-bundle,src=/etc/ssl/certs/ca-certificates.crt`), for a network whose egress re-signs TLS:
# it is mounted for that step only, so it reaches no layer. Without it Node's own roots are used.

# Compiles the TypeScript and the native addons; nothing from here but their output reaches the final image.
FROM ${NODE_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ librbd-dev librados-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN --mount=type=secret,id=ca-bundle \
    if [ -s /run/secrets/ca-bundle ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/ca-bundle; fi \
 && npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY api-server/ api-server/
COPY operator/ operator/
COPY native/ native/
# The official image keeps Node's headers under /usr/local (Debian's nodejs under /usr, as package.json assumes).
RUN npx tsc -p tsconfig.build.json \
 && node /usr/local/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js rebuild \
      --directory=native --nodedir=/usr/local

# Production dependencies only, without install scripts: none of them builds anything natively.
FROM ${NODE_IMAGE} AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN --mount=type=secret,id=ca-bundle \
    if [ -s /run/secrets/ca-bundle ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/ca-bundle; fi \
 && npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE}
# librbd1/librados2: the api-server's rbd store (the addon). ceph-common: the operator runs `ceph` and `rbd`.
# xz-utils, zstd, bzip2: Image sources compressed with xz, zst or bz2 (gz is Node's own zlib).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates librbd1 librados2 ceph-common xz-utils zstd bzip2 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
# package.json says "type": "module", which the compiled ES modules need.
COPY package.json ./
COPY --from=deps /src/node_modules/ node_modules/
COPY --from=build /src/dist/api-server/ dist/api-server/
COPY --from=build /src/dist/operator/ dist/operator/
# Every addon of native/binding.gyp (librbd, sendfile), where the api-server looks for them.
COPY --from=build /src/native/build/Release/*.node native/build/Release/
# The official image's unprivileged user `node`, by number so that runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 8081 9292
CMD ["node", "dist/operator/src/main.js"]
