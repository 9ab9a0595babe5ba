# The operator image. Build: docker build -t pubsub-operator:dev .
#
# The base image is a build argument, so the image builds where no public registry is reachable:
#   docker build --build-arg BASE_IMAGE=registry.internal/library/node:24-alpine -t pubsub-operator:dev .
# Any Node 24 image with a POSIX shell works (Debian slim or Alpine).
#
# It runs the compiled output of `npm run build` (dist/), not src/*.ts through Node's type stripping:
# the build stage type-checks the code, so an image never ships what `tsc` rejects; the runtime
# image carries no TypeScript sources and starts without stripping types; and `node dist/main.js`
# does not depend on a Node feature whose flags and warnings still change between releases.
ARG BASE_IMAGE=node:24-alpine

# ---- build: every dependency, then tsc -------------------------------------------------------
FROM ${BASE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- production dependencies only ------------------------------------------------------------
FROM ${BASE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force

# ---- runtime ---------------------------------------------------------------------------------
FROM ${BASE_IMAGE}
# npm, npx and yarn are not needed to run the operator: less to patch, less to exploit.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
      /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
# A numeric non-root user, so Kubernetes can verify runAsNonRoot; nothing is written at run time,
# so the root filesystem can be read-only (the chart mounts an emptyDir at /tmp all the same).
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["node", "--enable-source-maps", "dist/main.js"]
LABEL org.opencontainers.image.title="pubsub-operator" \
      org.opencontainers.image.description="Kubernetes operator for SNS topics, SQS queues and queue-depth-scaled services" \
      org.opencontainers.image.licenses="Apache-2.0"
