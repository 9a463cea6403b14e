# The chatcast image: the CLI with everything its steps drive (Chromium's headless shell + a Cyrillic
# font for the charts, DVC + git for versioning, tfjs-core with its wasm backend for the forecaster).
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
# The native TensorFlow backend (@tensorflow/tfjs-node) is opt-in: it needs libtensorflow (about 400 MB
# more, and the umbrella @tensorflow/tfjs it loads), which would more than double the image. Without it
# chatcast runs tfjs-backend-wasm. `docker build --build-arg TFJS_NODE=1` tries to install it.
ARG TFJS_NODE=0
COPY package.json package-lock.json ./
# Dependencies first (a layer that changes only with the lockfile). Install scripts are skipped here and
# then, with TFJS_NODE=1, run for the only package allowed to run one ("allowScripts"): the optional
# @tensorflow/tfjs-node, which downloads libtensorflow and its prebuilt binding. Where that download fails
# the package is dropped, as npm does with a failed optional dependency, and chatcast falls back to the
# WebAssembly backend.
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && if [ "$TFJS_NODE" != 1 ]; then \
      echo "@tensorflow/tfjs-node left out (TFJS_NODE=$TFJS_NODE): chatcast will use tfjs-backend-wasm"; \
      rm -rf node_modules/@tensorflow/tfjs-node; \
    elif npm rebuild @tensorflow/tfjs-node >/tmp/tfjs-node.log 2>&1; then \
      echo "@tensorflow/tfjs-node installed: the native TensorFlow backend is available"; \
    else \
      grep -m 1 'Error: ' /tmp/tfjs-node.log || tail -n 3 /tmp/tfjs-node.log; \
      echo "@tensorflow/tfjs-node could not be installed (optional): chatcast will use tfjs-backend-wasm"; \
      rm -rf node_modules/@tensorflow/tfjs-node; \
    fi \
 && rm -f /tmp/tfjs-node.log
COPY tsconfig.json ./
COPY tasks ./tasks
# Production dependencies only; without tfjs-node also none of what only it needs (the umbrella
# @tensorflow/tfjs with layers, converter, data and WebGL: --omit=optional drops exactly those, as
# tfjs-node is the only optional dependency). Then what Node never loads: TypeScript (there only as an
# optional peer of cosmiconfig, for .ts config files chatcast has none of), source maps, type
# declarations and markdown, and all of tfjs but its Node bundles and .wasm binaries (40 MB of browser
# and ES-module builds).
RUN npm run build \
 && if [ -d node_modules/@tensorflow/tfjs-node ]; then npm prune --omit=dev --no-audit --no-fund; \
    else npm prune --omit=dev --omit=optional --no-audit --no-fund; fi \
 && rm -rf node_modules/typescript \
 && find node_modules -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.md' \) -delete \
 && for pkg in node_modules/@tensorflow/tfjs-core node_modules/@tensorflow/tfjs-backend-cpu node_modules/@tensorflow/tfjs-backend-wasm; do \
      find "$pkg" -mindepth 1 -maxdepth 1 ! -name dist ! -name package.json ! -name 'LICENSE*' -exec rm -rf {} + \
   && find "$pkg/dist" -mindepth 1 -maxdepth 1 ! -name '*.node.js' ! -name '*.wasm' -exec rm -rf {} +; \
    done \
 && chmod 0755 dist/cli.js

# ---- DVC: a venv built with pip here, copied into the runtime without pip, caches or tests ----
FROM node:24-bookworm-slim AS venv
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
COPY requirements.txt /tmp/requirements.txt
# Left out: pip and setuptools (only installers need them), the packages' own test suites, botocore's
# models of the 400 AWS services other than those S3 remotes use (S3 itself, and STS, SSO and sign-in
# for the credentials), and the bytecode (__pycache__, 56 MB): the runtime's PYTHONPYCACHEPREFIX has
# Python compile into the container's /tmp instead, once per container (a second or two, on the first
# `dvc` call of a step; the venv is read-only for chatcast).
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check -r /tmp/requirements.txt
RUN /opt/venv/bin/pip uninstall --yes --quiet --disable-pip-version-check pip setuptools \
 && find /opt/venv -depth -type d \( -name tests -o -name test \) -path '*/site-packages/*' -exec rm -rf {} + \
 && find /opt/venv/lib/python3*/site-packages/botocore/data -mindepth 1 -maxdepth 1 -type d \
      ! -name s3 ! -name sts ! -name sso ! -name sso-oidc ! -name signin -exec rm -rf {} + \
 && find /opt/venv -depth -type d -name __pycache__ -exec rm -rf {} + \
 && PYTHONDONTWRITEBYTECODE=1 /opt/venv/bin/python -c 'import dvc.cli, dvc_s3, s3fs, botocore.session as b; [b.get_session().create_client(c, region_name="us-east-1") for c in ("s3", "sts", "sso", "sso-oidc")]' \
 && PYTHONDONTWRITEBYTECODE=1 /opt/venv/bin/dvc --version

# ---- Node without its symbol table (18 MB; .dynsym, which native addons link against, stays) ----
FROM node:24-bookworm-slim AS node
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends binutils \
 && strip /usr/local/bin/node \
 && node --version

# ---- the system: Debian packages, DVC and the user, squashed into one layer by the runtime stage ----
FROM node:24-bookworm-slim AS system
# chromium-headless-shell: Chromium's headless-only build, without the GTK/Mesa desktop stack of the
# `chromium` package; it draws the charts byte for byte as the full browser does. Its chromium-common
# still depends on x11-utils and xdg-utils, which only the desktop browser's wrapper uses and which pull
# in Mesa and LLVM (200 MB), and git depends on perl (47 MB) for commands chatcast and DVC never run
# (send-email, svn, instaweb; `add -i` is built in) and on liberror-perl for those: an empty package
# that provides all four stands in for them. Chromium's files that only the desktop browser reads go too
# (resources.pak, the UI scale packs and locales: the headless shell has its own headless_*.pak), and
# Vulkan's validation layer and mock driver (debugging aids).
RUN mkdir -p /tmp/stub/DEBIAN \
 && printf '%s\n' 'Package: chatcast-no-desktop' 'Version: 1.0' 'Architecture: all' 'Multi-Arch: foreign' 'Maintainer: chatcast' \
      'Provides: x11-utils, xdg-utils, perl, liberror-perl' 'Description: stands in for x11-utils, xdg-utils and perl' \
      ' chromium-common depends on the first two for the desktop browser and git on perl for commands' \
      ' chatcast never runs; the headless shell and git work without them.' \
      >/tmp/stub/DEBIAN/control \
 && dpkg-deb --build /tmp/stub /tmp/chatcast-no-desktop.deb >/dev/null \
 && dpkg -i /tmp/chatcast-no-desktop.deb >/dev/null \
 && rm -rf /tmp/stub /tmp/chatcast-no-desktop.deb \
 && apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      chromium-headless-shell fonts-dejavu-core fontconfig git python3 ca-certificates tini \
 && cd /usr/lib/chromium \
 && rm -rf resources.pak chrome_100_percent.pak chrome_200_percent.pak locales \
      libVkLayer_khronos_validation.so libVkICD_mock_icd.so \
 && rm -rf /var/lib/apt/lists/* /var/cache/debconf/*-old /var/log/apt/* /var/log/dpkg.log

COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=venv /opt/venv /opt/venv
RUN PYTHONDONTWRITEBYTECODE=1 /opt/venv/bin/dvc --version
# A non-root user; git accepts a mounted workspace owned by another uid.
RUN groupadd --gid 10001 chatcast \
 && useradd --uid 10001 --gid chatcast --create-home --shell /usr/sbin/nologin chatcast \
 && git config --system safe.directory '*' \
 && mkdir -p /workspace \
 && chown chatcast:chatcast /workspace
# What the runtime never uses, gone for real now that the layers are squashed: npm (chatcast is
# installed already), documentation (but each package's copyright), man pages, translations, Python's
# own bytecode (compiled into PYTHONPYCACHEPREFIX instead, as DVC's is), and the build host's CA bundle
# that docker/base-image.sh's stand-in base carries for npm and pip.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx /usr/local/share/build-host-ca \
      /usr/share/man/* /usr/share/info/* /usr/share/lintian /usr/share/groff /tmp/* /root/.npm /root/.cache \
 && find /usr/lib/python3* -depth -type d -name __pycache__ -exec rm -rf {} + \
 && find /usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete \
 && find /usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} + \
 && find /usr/share/doc -mindepth 1 -type d -empty -delete

# ---- runtime: the system as one layer, then the app in small layers of their own ----
FROM scratch
COPY --from=system / /
# DVC in its own venv, on PATH (chatcast runs `dvc` from PATH when the package has no .venv).
ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONPYCACHEPREFIX=/tmp/pycache

COPY --from=build /src/node_modules /app/node_modules
COPY --from=build /src/dist /app/dist
COPY package.json dvc.yaml params.yaml /app/
RUN ln -s /app/dist/cli.js /usr/local/bin/chatcast \
 && chatcast --help >/dev/null \
 && rm -rf /tmp/* /root/.cache

ENV CHATCAST_CHROMIUM=/usr/bin/chromium-headless-shell \
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
