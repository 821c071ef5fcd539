# LR Bot container image: `docker build -t lr-bot .`
# Stage 1 compiles TypeScript (and the Teams tab bundle) with the dev dependencies; stage 2 installs production
# dependencies only; the final stage holds those two results, runs as the unprivileged `node` user and starts with
# plain node (no tsx, no npm) so SIGTERM reaches the bot directly and it can stop gracefully.
# Not built on the machine this was written on (no Docker engine there); every command it runs is tested outside a
# container by test/production-build.test.ts. See docs/deploy.md.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM ${NODE_IMAGE} AS production-deps
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: nothing in production needs one (BullMQ's msgpackr falls back to plain JavaScript).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    PORT=3978 \
    HOST=0.0.0.0
WORKDIR /app
# Owned by root and read-only to the bot: a compromised process cannot rewrite its own code.
COPY --from=production-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
USER node
EXPOSE 3978
# /healthz: 200 while the process answers and Redis is reachable (METRICS_PORT's server when that is set).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["node", "dist/app/healthcheck.js"]
STOPSIGNAL SIGTERM
# HTTP + workers; `--http-only` or `--worker-only` as extra arguments (see compose.yaml).
CMD ["node", "dist/app/main.js"]
