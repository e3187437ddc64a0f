"""Runtime configuration: one `Settings` object, built once in `__main__` and passed down.

Values come from the environment and an optional `.env` file. The names of the settings in
the first block are fixed (other programs set them); the rest are ours. docs/behaviour.md and
`.env.example` describe every one.
Secrets are `SecretStr` so they never appear in reprs, logs or error messages.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_LLM_BASE_URL = "https://api.openai.com/v1"
DEFAULT_DISCORD_API_BASE = "https://discord.com/api/v10"


def _split_csv(value: object) -> object:
    """Accept `1,2, 3` (and an empty string) for list settings instead of JSON."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
    )

    # --- fixed names (other programs set these; never rename them) ------------------------
    discord_token: SecretStr
    llm_base_url: str = DEFAULT_LLM_BASE_URL
    llm_api_key: SecretStr = SecretStr("")
    llm_model: str = Field(min_length=1)
    database_path: Path = Path("data/switchboard.db")
    # postgresql://user:password@host:port/db: PostgreSQL instead of the SQLite file (several
    # processes, one database); empty: the SQLite file at DATABASE_PATH.
    database_url: SecretStr = SecretStr("")
    discord_api_base: str = DEFAULT_DISCORD_API_BASE
    discord_gateway_url: str | None = None
    dev_guild_id: int | None = None
    owner_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    # Recent messages of a channel given to the model as context when a mention starts a
    # conversation there (0: none).
    context_messages: int = Field(default=20, ge=0, le=100)
    # The model that titles threads after their first answer: empty for the answer's own
    # model, `off` for no titles, or a model reference.
    title_model: str = ""
    # Attachments whose reading would cost more than this (dollars, at the model's input
    # price) are confirmed by the member first, with Continue / Cancel (0: never ask).
    attachment_confirm_usd: float = Field(default=0.25, ge=0, le=1000)
    # How long a tool that needs approval waits for Approve or Deny (no answer: denied).
    approval_timeout_seconds: float = Field(default=60.0, ge=5, le=3600)
    # Discord shards: SHARD_COUNT in all, SHARD_IDS (comma-separated) the ones this process
    # runs (all of them when empty). Without SHARD_COUNT, all the shards Discord recommends.
    shard_count: int | None = Field(default=None, ge=1, le=100_000)
    shard_ids: Annotated[tuple[int, ...], NoDecode] = ()
    # Requests per second: this process's share of Discord's global limit (50/s per bot).
    discord_global_rate: float = Field(default=45.0, gt=0, le=10_000)

    # Providers and per-model settings (TOML); optional: without it LLM_* is everything.
    config_file: Path = Path("switchboard.toml")

    # --- ours ---------------------------------------------------------------------------------
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    max_tool_rounds: int = Field(default=8, ge=1, le=50)
    tool_timeout_seconds: float = Field(default=20.0, gt=0, le=600)
    llm_max_output_tokens: int = Field(default=4096, ge=16)
    llm_context_tokens: int = Field(default=32_000, ge=1_000)
    llm_connect_timeout: float = Field(default=10.0, gt=0)
    # Connect + first byte bound how long a silent endpoint is waited for, retries included.
    llm_first_byte_timeout: float = Field(default=50.0, gt=0)
    llm_idle_timeout: float = Field(default=90.0, gt=0)
    # After this long with nothing from the model, the answer says it is still waiting.
    llm_waiting_notice_seconds: float = Field(default=15.0, gt=0)
    llm_max_retries: int = Field(default=3, ge=0, le=10)
    fetch_url_allowlist: Annotated[tuple[str, ...], NoDecode] = ()
    fetch_url_max_bytes: int = Field(default=1_000_000, ge=1_000)
    fetch_url_timeout_seconds: float = Field(default=15.0, gt=0)
    # web_search: off until SEARCH_PROVIDER is set; SEARCH_URL is the SearXNG instance (or
    # replaces the Brave / Tavily API base); SEARCH_API_KEY is Brave's or Tavily's key.
    search_provider: Literal["searxng", "brave", "tavily"] | None = None
    search_url: str | None = Field(default=None, validate_default=True)
    search_api_key: SecretStr = Field(default=SecretStr(""), validate_default=True)
    # Conversation content older than this many days is deleted (0 keeps everything); the
    # usage ledger is always kept.
    retention_days: int = Field(default=0, ge=0, le=36_500)
    shutdown_grace_seconds: float = Field(default=20.0, ge=0, le=600)
    # What is read of members' attachments (bot.attachments.AttachmentLimits): bytes per file,
    # per image and per message; estimated tokens after extraction per file and per message.
    attachment_max_bytes: int = Field(default=8_000_000, ge=1_000)
    image_max_bytes: int = Field(default=10_000_000, ge=1_000)
    message_attachments_max_bytes: int = Field(default=25_000_000, ge=1_000)
    attachment_max_tokens: int = Field(default=20_000, ge=100)
    message_attachments_max_tokens: int = Field(default=40_000, ge=100)
    message_attachments_max_count: int = Field(default=10, ge=1, le=100)
    pdf_max_pages: int = Field(default=100, ge=1)
    attachment_download_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    # How often the words of answers in flight are saved (one transaction for all of them):
    # a crash loses at most this much of what members saw.
    stream_save_seconds: float = Field(default=1.0, gt=0, le=10)

    @field_validator("owner_ids", "fetch_url_allowlist", "shard_ids", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("shard_count", mode="before")
    @classmethod
    def _blank_count(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("shard_ids")
    @classmethod
    def _shard_ids(cls, value: tuple[int, ...], info: ValidationInfo) -> tuple[int, ...]:
        if not value:
            return value
        if "shard_count" not in info.data:
            return value  # SHARD_COUNT itself is wrong; that is the line to read
        count = info.data["shard_count"]
        if count is None:
            raise ValueError("needs SHARD_COUNT (the number of shards in all)")
        wrong = [shard for shard in value if not 0 <= shard < count]
        if wrong:
            listed = ", ".join(str(shard) for shard in wrong)
            raise ValueError(f"{listed}: shard ids run from 0 to SHARD_COUNT - 1 ({count - 1})")
        if len(set(value)) != len(value):
            raise ValueError("lists a shard twice")
        return tuple(sorted(value))

    @field_validator("discord_token")
    @classmethod
    def _token_not_blank(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("is empty")
        return value

    @field_validator("llm_base_url", "discord_api_base", "discord_gateway_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None if value == "" else value
        if not value.startswith(("http://", "https://", "ws://", "wss://")):
            raise ValueError("must start with http://, https://, ws:// or wss://")
        return value.rstrip("/")

    @field_validator("search_provider", mode="before")
    @classmethod
    def _blank_provider(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("search_url")
    @classmethod
    def _search_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        provider = info.data.get("search_provider")
        if value is None or not value.strip():
            if provider == "searxng":
                raise ValueError("is required when SEARCH_PROVIDER is searxng")
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        if provider is None:
            raise ValueError("is set but SEARCH_PROVIDER is not (searxng, brave or tavily)")
        return value.rstrip("/")

    @field_validator("search_api_key")
    @classmethod
    def _search_key(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        provider = info.data.get("search_provider")
        if provider in ("brave", "tavily") and not value.get_secret_value().strip():
            raise ValueError(f"is required when SEARCH_PROVIDER is {provider}")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: SecretStr) -> SecretStr:
        url = value.get_secret_value().strip()
        if url and not url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
            raise ValueError("must be a postgresql://user:password@host/db URL or empty")
        if url.startswith("postgres://"):  # Heroku's and others' spelling
            url = "postgresql://" + url.removeprefix("postgres://")
        return SecretStr(url)

    @property
    def database_target(self) -> Path | str:
        """Where the database lives: the PostgreSQL URL when set, else the SQLite file."""
        return self.database_url.get_secret_value() or self.database_path

    @property
    def database_name(self) -> str:
        """The database for messages: the SQLite file, or the URL without its password."""
        url = self.database_url.get_secret_value()
        if not url:
            return str(self.database_path)
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)

    @field_validator("fetch_url_allowlist")
    @classmethod
    def _allowlist(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            if "/" in entry:
                try:
                    ipaddress.ip_network(entry, strict=False)
                except ValueError as exc:
                    raise ValueError(f"{entry!r} is not a valid network") from exc
        return value


# How to fix each setting a person is most likely to get wrong, said next to the problem.
_HINTS = {
    "discord_token": "set DISCORD_TOKEN to your bot's token (Developer Portal → Bot → Reset Token)",
    "llm_model": "set LLM_MODEL to the model to use, e.g. gpt-4o-mini",
    "llm_base_url": "set LLM_BASE_URL to an OpenAI-compatible endpoint, e.g. http://localhost:11434/v1",
    "owner_ids": "set OWNER_IDS to comma-separated Discord user ids, e.g. 123,456",
    "dev_guild_id": "set DEV_GUILD_ID to a server id (a number) or leave it empty",
    "search_provider": "set SEARCH_PROVIDER to searxng, brave or tavily, or leave it empty",
    "search_url": "set SEARCH_URL to your SearXNG instance, e.g. http://localhost:8888",
    "database_url": "set DATABASE_URL to postgresql://user:password@host/db or leave it empty",
    "search_api_key": "set SEARCH_API_KEY to your Brave Search or Tavily API key",
    "shard_count": "set SHARD_COUNT to the number of shards in all (e.g. 2), or leave it empty",
    "shard_ids": "set SHARD_IDS to this process's shards, comma-separated, e.g. 0 or 0,1",
    "discord_global_rate": "set DISCORD_GLOBAL_RATE to this process's requests per second, "
    "e.g. 22.5 for each of two processes",
}


def describe_errors(error: ValidationError) -> list[str]:
    """One plain line per problem: which setting, what is wrong, how to fix it. No values."""
    lines: list[str] = []
    for problem in error.errors(include_input=False, include_url=False):
        field = str(problem["loc"][0]) if problem["loc"] else "settings"
        env_name = field.upper()
        if problem["type"] == "missing":
            what = "is missing"
        else:
            what = f"is invalid: {problem['msg'].removeprefix('Value error, ')}"
        hint = _HINTS.get(field, f"check {env_name} in your environment or .env (see .env.example)")
        lines.append(f"{env_name} {what} — {hint}")
    return lines


def run_shards(settings: Settings) -> tuple[int | None, list[int] | None]:
    """(shard count, shard ids) for discord.py: (None, None) for every shard Discord recommends,
    (count, None) for all of `count`, or both from SHARD_IDS."""
    if settings.shard_count is None:
        return None, None
    return settings.shard_count, list(settings.shard_ids) or None


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment/.env; raises `ValidationError` on problems."""
    return Settings(**overrides)  # type: ignore[arg-type]
