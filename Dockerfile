# The pgtls operator image, for those who build with Docker (or BuildKit, Podman, kaniko).
# Equivalent to `pgtls build-operator-image`, which builds it here without a container
# engine: the same Debian trixie with its Node.js, the same user, entrypoint and files
# (src/install/operator-image.ts; test/unit/helm/image.test.ts compares the two).
#   docker build -t localhost/pgtls/operator:0.1.0 .

FROM debian:trixie-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs scripts/operator-bundle.mjs scripts/
COPY src/ src/
RUN npm run build
# Only what runs: the compiled operator, package.json ("type": "module") and the runtime dependencies.
RUN mkdir /app \
 && cp -r dist package.json package-lock.json /app/ \
 && cd /app \
 && npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund \
 && rm package-lock.json

FROM debian:trixie-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /app/dist /app/dist
COPY --from=build /app/node_modules /app/node_modules
COPY --from=build /app/package.json /app/package.json
USER 65534:65534
WORKDIR /app
ENV NODE_ENV=production
ENV MALLOC_MMAP_THRESHOLD_=131072
ENV MALLOC_TRIM_THRESHOLD_=131072
ENTRYPOINT ["/usr/bin/node", "--max-semi-space-size=4", "--max-old-space-size=256", "/app/dist/bundle/operator.js"]
CMD ["operator"]
