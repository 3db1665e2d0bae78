# The backend: no models and no model libraries (a test checks that it imports none), so
# a slim Python base is enough. It downloads hub models for the model management API (the
# hub client only) and crawls with Debian's Chromium (POST /api/crawl): about 300 MB
# without Chromium (WITH_CHROMIUM=0, crawling then answers 503), about 700 MB with it.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG PIP_FLAGS=""
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY ai ai
COPY backend backend
# The base install only: no torch (the models extra is what the model services add).
RUN pip install ${PIP_FLAGS} -c constraints.txt ".[postgres,hub,crawl]"

FROM ${PYTHON_IMAGE} AS runtime
ARG WITH_CHROMIUM=1
# Playwright's own browser download needs a CDN; the distribution's package does not.
RUN if [ "$WITH_CHROMIUM" = "1" ]; then \
        apt-get update && apt-get install -y --no-install-recommends chromium && rm -rf /var/lib/apt/lists/*; \
    fi
RUN useradd --uid 10001 --create-home --shell /usr/sbin/nologin fleet
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 DATA_DIR=/data PORT=8000 \
    AI_MODELS_PATH=/models HF_HOME=/models
RUN mkdir -p /data && chown 10001 /data
WORKDIR /app
USER 10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/health', timeout=4)"
CMD ["python", "-m", "backend"]
