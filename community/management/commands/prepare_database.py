"""Create the configured database and the PostGIS extension when they are missing."""

import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from psycopg import sql


def _connect(database: str, autocommit: bool = True) -> psycopg.Connection:
    db = settings.DATABASES["default"]
    return psycopg.connect(
        dbname=database,
        user=db.get("USER") or None,
        password=db.get("PASSWORD") or None,
        host=db.get("HOST") or None,
        port=db.get("PORT") or None,
        autocommit=autocommit,
    )


class Command(BaseCommand):
    help = "Create the database named by DATABASE_URL and its postgis extension, if missing."

    def handle(self, *args, **options) -> None:
        name = settings.DATABASES["default"]["NAME"]
        try:
            with _connect("postgres") as conn:
                exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
                if not exists:
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                    self.stdout.write(f"Created database {name}.")
            with _connect(name) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        except psycopg.Error as exc:
            raise CommandError(f"Could not prepare database {name!r}: {exc}") from exc
