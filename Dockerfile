# One image for the API, the worker and the migrations (docker-compose.yml picks the command).
# Pinned base: a rebuild months later gets the same Python; bump it deliberately (and its digest, if
# your registry policy pins digests).
FROM python:3.11.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    APP_ENV=production \
    LOG_JSON=true

# Slim images carry no time zone database; the bundled fake Zalo (`python -m zalo.fake_server`, for a
# demo in local mode) names its zone with zoneinfo. Office time itself is a fixed UTC+7 (domain/timefmt.py).
# WeasyPrint renders the receipt's and the poster's PDF with pango, in DejaVu (Vietnamese glyphs).
RUN apt-get update \
 && apt-get install -y --no-install-recommends tzdata libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies first, exactly as pinned in constraints.txt: a code change reuses this layer.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
      > /tmp/requirements.txt \
 && pip install -c constraints.txt -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

COPY . .
RUN pip install -c constraints.txt . \
 && python -c "import zoneinfo; zoneinfo.ZoneInfo('Asia/Ho_Chi_Minh')"

USER app

# API and pages; the worker's Prometheus endpoint (WORKER_METRICS_BIND_ADDRESS).
EXPOSE 8000 9464

# The API by default; the worker is `python worker.py`, migrations `alembic upgrade head`.
# --no-proxy-headers: the app believes X-Forwarded-For only from TRUSTED_PROXIES (server.py).
CMD ["uvicorn", "server:app", "--factory", "--host", "0.0.0.0", "--port", "8000", "--no-access-log", "--no-proxy-headers"]
