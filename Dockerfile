# syntax=docker/dockerfile:1.7
# One image for every uzdik service: `uzdik serve <service>` / `uzdik migrate <service>`.
#
# Both stages use the same base image, pinned by exact tag: the venv built in the first is
# copied into the second, and its interpreter link points at that image's
# /usr/local/bin/python3.11. Before a release, add the digest to both FROM lines
# (`docker buildx imagetools inspect python:3.11.14-slim-bookworm` prints it):
#   FROM python:3.11.14-slim-bookworm@sha256:<digest>

FROM python:3.11.14-slim-bookworm AS builder
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# uv from PyPI, pinned: the lock file is read by the same uv the developers use.
RUN pip install --no-cache-dir uv==0.13.9
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/opt/uzdik/venv
WORKDIR /src
# Dependencies first (cached layer until pyproject.toml or uv.lock change) ...
COPY pyproject.toml uv.lock README.md ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-install-project
# ... then the project itself, installed as a wheel (not editable) so /src is not needed later.
COPY shared ./shared
COPY services ./services
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-editable

FROM python:3.11.14-slim-bookworm AS runtime
# A fixed, high UID/GID (>= 10000) that the Kubernetes manifests name in runAsUser.
RUN groupadd --system --gid 10001 uzdik \
    && useradd --system --uid 10001 --gid uzdik --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin uzdik
COPY --from=builder /opt/uzdik/venv /opt/uzdik/venv
ENV PATH=/opt/uzdik/venv/bin:${PATH} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UZDIK_LOG_JSON=1 \
    UZDIK_HTTP_HOST=0.0.0.0 \
    UZDIK_HTTP_PORT=8000
USER 10001:10001
WORKDIR /tmp
EXPOSE 8000
# Liveness only (Kubernetes uses its own probes); the stdlib keeps the image free of curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('UZDIK_HTTP_PORT', '8000'), timeout=4)"]
ENTRYPOINT ["uzdik"]
CMD ["serve", "nominations"]
