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

WORKDIR /app
COPY pyproject.toml README.md ./
COPY cesja ./cesja
COPY workflow ./workflow
COPY ocr ./ocr
COPY documents ./documents
RUN pip install --no-cache-dir . && useradd --system --home /data cesja && mkdir -p /data && chown cesja /data

USER cesja
VOLUME /data
EXPOSE 8000
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["cesja", "serve", "--host", "0.0.0.0", "--port", "8000"]
