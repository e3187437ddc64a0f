"""What the rest of the bot needs to know about a PostgreSQL `DATABASE_URL` without loading
the PostgreSQL driver: its secrets, its printable form, the error for a server that can't be
reached. Kept apart from `postgres_backend` because psycopg and SQLAlchemy's asyncio layer
cost a fifth of a second at every start, which a bot on SQLite never needs to pay.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bot.errors import ConfigurationError

__all__ = [
    "DatabaseUnreachableError",
    "database_secrets",
    "redacted",
    "sqlalchemy_url",
]


class DatabaseUnreachableError(ConfigurationError):
    """PostgreSQL could not be reached (or refused us) at start."""


def sqlalchemy_url(url: str) -> sa.URL:
    """`postgresql://…` (what people write) → SQLAlchemy's URL with the psycopg driver."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ConfigurationError([f"DATABASE_URL must start with postgresql://, not {url!r}"])
    return parsed.set(drivername="postgresql+psycopg")


def database_secrets(url: str) -> list[str]:
    """What of DATABASE_URL must never reach a log: its password, and the URL itself."""
    if not url:
        return []
    password = make_url(url).password
    return [url, str(password)] if password else [url]


def redacted(url: str) -> str:
    """The URL without its password, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)
