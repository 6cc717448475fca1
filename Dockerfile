# Handoff: `docker build -t handoff .` then
# `docker run -v handoff-data:/data --env-file .env -p 3000:3000 handoff`.
# Its build steps run in .ci/run as well (`uv sync --locked --no-default-groups --no-editable`).

FROM python:3.11-slim AS build
RUN pip install --no-cache-dir --root-user-action=ignore uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
WORKDIR /app
# Dependencies first, from the lock file, so that code changes reuse this layer.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-default-groups --no-install-project
COPY bot ./bot
RUN uv sync --locked --no-default-groups --no-editable

FROM python:3.11-slim
LABEL org.opencontainers.image.title="handoff" \
      org.opencontainers.image.licenses="GPL-3.0-or-later"
RUN useradd --system --uid 10001 --home-dir /data handoff \
    && mkdir -p /data && chown handoff /data
COPY --from=build /app/.venv /app/.venv
COPY LICENSE /app/LICENSE
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HANDOFF_DATABASE_URL=sqlite:////data/handoff.db
USER handoff
WORKDIR /data
VOLUME ["/data"]
EXPOSE 3000
# /healthz answers 200 while the database is reachable (python: the slim image has no curl).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('HANDOFF_PORT', '3000'), timeout=4)"]
CMD ["handoff", "serve"]
