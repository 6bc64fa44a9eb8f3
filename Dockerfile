# The service on the embedded default (SQLite + local scan store under /data).
# Scale out by setting CESJA_DATABASE_URL to PostgreSQL and CESJA_SCAN_DIR to a shared mount.
FROM python:3.11-slim-bookworm

RUN apt-get update \
 && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-pol tesseract-ocr-eng poppler-utils fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

ENV PYTHONUNBUFFERED=1 \
    OMP_THREAD_LIMIT=1 \
    CESJA_DATA_DIR=/data \
    CESJA_TESSDATA=/usr/share/tesseract-ocr/5/tessdata

# The Python packages exactly as uv.lock holds them (the versions the README's figures were
# measured with), with PostgreSQL's driver, by the Makefile's uv; it uses this image's Python.
ARG UV_VERSION=0.13.9
ENV UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/cesja \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    PATH=/opt/cesja/bin:$PATH
RUN pip install --no-cache-dir "uv==${UV_VERSION}"

WORKDIR /app
# The packages first, in a layer of their own that a change to the code does not rebuild.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-cache --extra postgresql --no-install-project
COPY cesja ./cesja
COPY workflow ./workflow
COPY ocr ./ocr
COPY documents ./documents
RUN uv sync --locked --no-cache --extra postgresql --no-editable \
 && useradd --system --home /data cesja && mkdir -p /data && chown cesja /data

USER cesja
VOLUME /data
EXPOSE 8000
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["cesja", "serve", "--host", "0.0.0.0", "--port", "8000"]
