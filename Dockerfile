# syntax=docker/dockerfile:1
# imageshare-operator container image. Three stages:
#   build      – full `npm ci` (TypeScript, the `node` dev dependency) and `npm run build` → dist/
#   prod-deps  – `npm ci --omit=dev`: the runtime's node_modules, with no dev dependency in it
#   runtime    – distroless Node 24 (no shell, no npm), non-root, only dist/, prod node_modules and package.json
# The final image's entrypoint is the operator itself; Kubernetes `args` are its flags.
# test/repo/dockerfile.test.ts parses and lints this file (there is no Docker engine to build it in CI).
# Base images are pinned by digest (multi-arch index digests: amd64 and arm64), checked by test/support/release-check.ts;
# the release workflow re-checks both platforms before building. Update tag and digest together.
ARG NODE_IMAGE=node:24-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# A digest says nothing about the Node major: fail the build if the pinned image is not Node 24.
RUN node -e 'process.exit(process.versions.node.split(".")[0] === "24" ? 0 : 1)'
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# Same Debian release and Node major as the stages above, so native paths and the ABI match.
FROM gcr.io/distroless/nodejs24-debian12:nonroot@sha256:14d42e2511532589a7c7e01a753667a74fcc96266e137e8125006b87b0c32d0a AS runtime
WORKDIR /app
ENV NODE_ENV=production
# The git commit for imageshare_build_info; the release workflow passes --build-arg VCS_REF=<sha>.
ARG VCS_REF=unknown
ENV IMAGESHARE_COMMIT=${VCS_REF}
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# 65532 is distroless' "nonroot"; numeric so runAsNonRoot can verify it. The chart runs as the same UID.
USER 65532:65532
EXPOSE 8080 8081
# A small young generation: V8 otherwise grows it to 64-128 MiB during a converge and keeps it as RSS
# (docs/performance.md: 358 -> 262 MiB at 1,000 objects, no measurable CPU cost).
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=4", "/app/dist/main.js"]
