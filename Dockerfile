# One image for every Convive process: web (daphne), Celery worker and Celery beat.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STATIC_FROM_SOURCE=0

# GeoDjango loads GDAL, GEOS and PROJ at run time; gettext's msgfmt compiles the translations.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgdal32 libgeos-c1v5 libproj25 gettext \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# The settings refuse to load without SECRET_KEY; this value exists only for these two
# commands and is not kept in the image.
RUN mkdir -p var/media \
    && SECRET_KEY=build-only python manage.py compilemessages -v 0 \
    && SECRET_KEY=build-only python manage.py collectstatic --noinput -v 0

# var/ holds the photo volume (var/media) and Celery beat's schedule file.
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin convive \
    && chown convive:convive /app/var /app/var/media
USER convive

EXPOSE 8000
# Behind the load balancer the client address comes from X-Real-IP, which the balancer must
# overwrite: the tracking-lookup rate limit counts per client address. Verbosity 0 turns off
# daphne's access log, which would pair each resident's address with the tracking code in the URL.
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "--proxy-headers", "--proxy-headers-host", "X-Real-IP", "--verbosity", "0", \
     "config.asgi:application"]
