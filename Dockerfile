FROM python:3.11-slim-bookworm
# gmt-gshhg-high: GSHHG's shorelines and rivers, the offline basemap's water (LGPL-3+).
RUN apt-get update && apt-get install -y --no-install-recommends gdal-bin chromium nodejs npm \
    postgresql-client gmt-gshhg-high tzdata && rm -rf /var/lib/apt/lists/*
# The process's "today" is Beijing's: every date the app takes as today (legal periods of idle
# land, assessments' validity, overdue steps, a match's date, reservations) is a Python
# date.today(), which a UTC container would put a day behind from 00:00 to 08:00 in Hebei.
ENV TZ=Asia/Shanghai
WORKDIR /src
# The npm packages the app serves (web/package.json) go to /opt/landmatch/node_modules.
COPY web/package.json web/package-lock.json /opt/landmatch/
RUN cd /opt/landmatch && npm ci --no-audit --no-fund
# The package itself, installed as a wheel (templates, scripts, layers and migrations are
# package data); the sources are not kept.
COPY pyproject.toml README.md ./
COPY landmatch ./landmatch
COPY layers ./layers
COPY web/static ./web/static
COPY web/templates ./web/templates
RUN pip install --no-cache-dir . && cd / && rm -rf /src
WORKDIR /var/lib/landmatch
ENV LANDMATCH_HOST=0.0.0.0 LANDMATCH_PORT=8000 \
    LANDMATCH_WEB_ASSETS_DIR=/opt/landmatch/node_modules
EXPOSE 8000
CMD ["sh", "-c", "landmatch db upgrade && landmatch basemap build --if-empty && landmatch seed --if-empty --parcels ${LANDMATCH_DEMO_PARCELS:-20000} && landmatch serve"]
