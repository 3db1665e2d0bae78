# The LLM service: the upstream llama.cpp server program, built from the llama.cpp tree
# that the llama-cpp-python source distribution vendors (the same build as
# `make llama-server`, with CUDA). It reads the server's own LLAMA_ARG_* variables, which
# the compose files and the Helm chart set from MODEL_PATH, GPU_LAYERS, CTX_SIZE and PORT,
# so the llama.cpp project's published server-cuda image can stand in for it unchanged
# (LLAMA_SERVER_IMAGE). docker-compose.dev.yml builds it for the CPU (GGML_CUDA=OFF).
ARG BUILD_IMAGE=nvidia/cuda:12.8.1-devel-ubuntu24.04
ARG RUN_IMAGE=nvidia/cuda:12.8.1-runtime-ubuntu24.04

FROM ${BUILD_IMAGE} AS build
ARG GGML_CUDA=ON
ARG PIP_FLAGS=""
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv build-essential cmake ninja-build \
    && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/venv && /opt/venv/bin/pip install ${PIP_FLAGS} "pydantic>=2.7" "pydantic-settings>=2.4" httpx
COPY ai /src/ai
WORKDIR /src
RUN CUDA_FLAG=$([ "${GGML_CUDA}" = "ON" ] && echo --cuda || true) \
    && /opt/venv/bin/python -m ai.llm.build --dest /opt/llama/llama-server --jobs "$(nproc)" ${CUDA_FLAG}

FROM ${RUN_IMAGE} AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 10001 --create-home --shell /usr/sbin/nologin fleet
COPY --from=build /opt/llama/llama-server /usr/local/bin/llama-server
ENV LLAMA_ARG_HOST=0.0.0.0 LLAMA_ARG_PORT=8091 LLAMA_ARG_JINJA=1 LLAMA_ARG_ENDPOINT_METRICS=1 LLAMA_ARG_OFFLINE=1
USER 10001
EXPOSE 8091
HEALTHCHECK --interval=15s --timeout=5s --start-period=600s --retries=3 \
    CMD curl -fsS "http://127.0.0.1:${LLAMA_ARG_PORT}/health" || exit 1
ENTRYPOINT ["llama-server"]
