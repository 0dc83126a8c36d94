FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends bubblewrap \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /srv/strata
COPY pyproject.toml README.md app.py ./
COPY registry ./registry
COPY storage ./storage
COPY migrations ./migrations
RUN pip install --no-cache-dir -e '.[server]'
ENV STRATA_DATA_DIR=/var/lib/strata
EXPOSE 8000
CMD ["gunicorn", "app:app", "--bind", "0.0.0.0:8000", "--workers", "4", "--worker-class", "registry.front.worker.FrontWorker", "--threads", "4", "--timeout", "900"]
