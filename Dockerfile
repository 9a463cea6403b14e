# The chatcast image: the CLI with everything its steps drive (Chromium + a Cyrillic font for the
# charts, DVC + git for versioning, tfjs for the forecaster).
#
#   docker build -t chatcast .                     (npm run image)
#   docker run --rm -v "$PWD/ws:/workspace" -v "$PWD/ws-dvc-remote:/workspace-dvc-remote" \
#     chatcast run --date 2024-03-31
#
# The arguments of `docker run` are the CLI's: `docker run IMAGE ingest --date D` runs
# `chatcast ingest --date D` in /workspace ($CHATCAST_WORKSPACE) as the non-root user chatcast (uid 10001),
# so the mounted workspace must be writable by that uid. `chatcast init` puts the default DVC remote
# beside the workspace, at /workspace-dvc-remote: mount a folder there (or pass --remote) to keep it.

# ---- build: compile the TypeScript and resolve the production node_modules ----
FROM node:24-bookworm-slim AS build
WORKDIR /src
ENV PUPPETEER_SKIP_DOWNLOAD=1 NPM_CONFIG_UPDATE_NOTIFIER=false
COPY package.json package-lock.json ./
# Dependencies first (a layer that changes only with the lockfile). Install scripts are skipped here and
# then run for the only package allowed to run one ("allowScripts"): the optional @tensorflow/tfjs-node, which
# downloads libtensorflow and its prebuilt binding. Where that download fails the package is dropped, as
# npm does with a failed optional dependency, and chatcast falls back to the WebAssembly backend.
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && if npm rebuild @tensorflow/tfjs-node >/tmp/tfjs-node.log 2>&1; then \
      echo "@tensorflow/tfjs-node installed: the native TensorFlow backend is available"; \
    else \
      grep -m 1 'Error: ' /tmp/tfjs-node.log || tail -n 3 /tmp/tfjs-node.log; \
      echo "@tensorflow/tfjs-node could not be installed (optional): chatcast will use tfjs-backend-wasm"; \
      rm -rf node_modules/@tensorflow/tfjs-node; \
    fi \
 && rm -f /tmp/tfjs-node.log
COPY tsconfig.json ./
COPY tasks ./tasks
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && chmod 0755 dist/cli.js

# ---- runtime ----
FROM node:24-bookworm-slim
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      chromium fonts-dejavu-core fontconfig git python3 python3-venv ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*

# DVC in its own venv, on PATH (chatcast runs `dvc` from PATH when the package has no .venv).
ENV PATH=/opt/venv/bin:$PATH
COPY requirements.txt /app/requirements.txt
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check -r /app/requirements.txt \
 && dvc --version

# A non-root user; git accepts a mounted workspace owned by another uid.
RUN groupadd --gid 10001 chatcast \
 && useradd --uid 10001 --gid chatcast --create-home --shell /usr/sbin/nologin chatcast \
 && git config --system safe.directory '*' \
 && mkdir -p /workspace \
 && chown chatcast:chatcast /workspace

COPY --from=build /src/node_modules /app/node_modules
COPY --from=build /src/dist /app/dist
COPY package.json dvc.yaml params.yaml /app/
RUN ln -s /app/dist/cli.js /usr/local/bin/chatcast \
 && chatcast --help >/dev/null

ENV CHATCAST_CHROMIUM=/usr/bin/chromium \
    PUPPETEER_SKIP_DOWNLOAD=1 \
    CHATCAST_WORKSPACE=/workspace \
    DVC_NO_ANALYTICS=1 \
    NODE_ENV=production
WORKDIR /workspace
USER chatcast
ENTRYPOINT ["tini", "--", "chatcast"]
CMD ["--help"]

# Metadata last, so a new revision changes only this layer (npm run image passes it).
ARG REVISION=unknown
LABEL org.opencontainers.image.title="chatcast" \
      org.opencontainers.image.description="Hour-by-hour activity of a Telegram group chat: ingest, aggregate, score yesterday's forecast, forecast today, render, report." \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.revision="$REVISION" \
      org.opencontainers.image.base.name="docker.io/library/node:24-bookworm-slim"
