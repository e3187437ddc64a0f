# Switchboard in a container: slim Python, a non-root user, the database on a volume.
# Build: docker build -t switchboard .   Run: see compose.yaml (settings come from .env).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_PATH=/data/switchboard.db

RUN useradd --create-home --uid 10001 switchboard \
    && mkdir /data \
    && chown switchboard:switchboard /data

WORKDIR /app
# The same install path as `make`: pip installs the project from pyproject.toml.
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY cogs ./cogs
RUN pip install --no-cache-dir .

USER 10001:10001
VOLUME ["/data"]
# SIGTERM lets answers in flight finish (bounded), then closes in order; see bot/app.py.
STOPSIGNAL SIGTERM
ENTRYPOINT ["python", "-m", "bot"]
