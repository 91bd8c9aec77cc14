FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends gdal-bin chromium nodejs npm \
    postgresql-client && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY landmatch ./landmatch
COPY layers ./layers
COPY web ./web
COPY scripts ./scripts
RUN pip install --no-cache-dir -e . \
    && if [ -f web/package.json ]; then cd web && npm install --no-audit --no-fund; fi
ENV LANDMATCH_HOST=0.0.0.0 LANDMATCH_PORT=8000
EXPOSE 8000
CMD ["sh", "-c", "landmatch db upgrade && landmatch seed --if-empty --parcels ${LANDMATCH_DEMO_PARCELS:-20000} && landmatch serve"]
