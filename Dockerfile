# realer's image. Build: `docker build -t realer .` (deploy/compose.yaml builds it too).
# The entrypoint is the `realer` command; the default command is `dev`:
#   docker run -p 8080:8080 realer                                           # the demo, embedded broker
#   docker run realer edge --nats nats://nats:4222 --port 8080               # one role of a fleet
# Listens on every interface (REALER_HOST=0.0.0.0): edges on 8080, workers' metrics on --metrics-port.
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY proto ./proto
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-slim
ENV NODE_ENV=production \
    REALER_HOST=0.0.0.0
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
EXPOSE 8080 9464
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["dev"]
