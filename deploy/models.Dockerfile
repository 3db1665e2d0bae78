# The model services (detector, Florence-2, CLIP, both enrichment roles): one image, the
# service chosen by its command (python -m ai.detector, ai.florence, ai.clip, ai.enrichment).
# CUDA by default; docker-compose.dev.yml builds it on plain Ubuntu for the CPU.
# No weights inside: the model store is mounted read-only at /models.
ARG BASE_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04

FROM ${BASE_IMAGE} AS build
ARG PIP_FLAGS=""
# 1 adds TensorRT (fetched from NVIDIA's index by its own installer; GPU images only).
ARG WITH_TENSORRT=1
ENV DEBIAN_FRONTEND=noninteractive PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv python3-dev build-essential \
    && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY ai ai
COPY backend backend
# torch alone and first, pinned (constraints.txt): a plain resolve could pick another build.
RUN pip install ${PIP_FLAGS} -c constraints.txt "torch==2.13.0" "torchvision==0.28.0"
RUN pip install ${PIP_FLAGS} -c constraints.txt ".[models,postgres,s3]" \
    && if [ "${WITH_TENSORRT}" = "1" ]; then pip install ${PIP_FLAGS} -c constraints.txt ".[tensorrt]"; fi

FROM ${BASE_IMAGE} AS runtime
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 libgl1 libglib2.0-0 libgomp1 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 10001 --create-home --shell /usr/sbin/nologin fleet
COPY --from=build /opt/venv /opt/venv
COPY --chown=10001 ai /app/ai
COPY --chown=10001 backend /app/backend
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    AI_MODELS_PATH=/models \
    HF_HOME=/models \
    CACHE_DIR=/cache \
    YOLO_CONFIG_DIR=/cache/ultralytics \
    AI_OFFLINE=true
# /models is mounted read-only in production; the dev init service writes demo weights there.
RUN mkdir -p /cache /models && chown 10001 /cache /models
WORKDIR /app
USER 10001
# PORT is each service's own (set by compose and the Helm chart).
HEALTHCHECK --interval=15s --timeout=5s --start-period=180s --retries=3 \
    CMD python3 -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/health', timeout=4)"
CMD ["python3", "-m", "ai.enrichment"]
