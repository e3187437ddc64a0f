"""The optional configuration file (`CONFIG_FILE`, default `switchboard.toml`): providers and
per-model settings, turned into a `ModelDirectory`.

```toml
[providers.deepseek]                  # NAME: letters, digits, - and _
base_url = "https://api.deepseek.com/v1"
api_key_env = "DEEPSEEK_API_KEY"      # the key is read from this environment variable
protocol = "openai"                   # "openai" (default), "responses" or "anthropic"
models = ["deepseek-v4-flash"]        # optional; otherwise GET /models when it answers

[models."deepseek/deepseek-v4-flash"] # a model reference: NAME/model
params = { reasoning_effort = "high" }  # merged into every request body for this model
fallback = ["openrouter/deepseek/deepseek-v4-flash"]
vision = true
context_tokens = 128000
think_tags = true                     # ours: split <think>…</think> in the text as reasoning
```

`[mcp.NAME]` tables (MCP servers) are read by `load_mcp_servers` (see `bot.config_mcp`).
Without the file the `LLM_*` settings are the whole configuration. Every problem in the file
is reported as one plain line naming the file, the table and the key; start-up stops when
there is any. API keys named by `api_key_env` are read from the environment, then `.env`.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from collections.abc import Mapping
from typing import Any, cast

from dotenv import dotenv_values

from bot.config_mcp import build_mcp_servers
from bot.errors import ConfigurationError
from bot.llm.providers import (
    DEFAULT_PROVIDER,
    ModelConfig,
    ModelDirectory,
    ProtocolName,
    ProviderConfig,
)
from bot.settings import Settings
from bot.tools.mcp.config import McpServerConfig

__all__ = ["build_directory", "load_directory", "load_mcp_servers"]

log = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_PROTOCOLS: tuple[ProtocolName, ...] = ("openai", "responses", "anthropic")
_PROVIDER_KEYS = {"base_url", "api_key_env", "protocol", "models"}
_MODEL_KEYS = {"params", "fallback", "vision", "context_tokens", "think_tags"}
_TOP_LEVEL = {"providers", "models", "mcp"}
# Body fields a model's params must not replace: they carry the conversation itself.
_RESERVED_PARAMS = {"model", "messages", "input", "stream"}


def load_directory(settings: Settings, env: Mapping[str, str] | None = None) -> ModelDirectory:
    """The directory for these settings and their configuration file (if any).

    Raises `ConfigurationError` with one line per problem (of `[mcp.*]` tables too)."""
    document = _read_document(settings)
    if env is None:
        env = _environment()
    return build_directory(settings, document, env, source=str(settings.config_file))


def load_mcp_servers(
    settings: Settings, env: Mapping[str, str] | None = None
) -> tuple[McpServerConfig, ...]:
    """The MCP servers of the configuration file's `[mcp.NAME]` tables (none without a file).

    Raises `ConfigurationError` with one line per problem of those tables."""
    document = _read_document(settings)
    if env is None:
        env = _environment()
    servers, problems = build_mcp_servers(document, env, source=str(settings.config_file))
    if problems:
        raise ConfigurationError(problems)
    return servers


def _read_document(settings: Settings) -> dict[str, Any]:
    path = settings.config_file
    document: dict[str, Any] = {}
    if path.exists():
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError([f"{path}: is not valid TOML: {exc}"]) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigurationError(
                [f"{path}: can't be read ({exc.__class__.__name__})"]
            ) from None
    elif "config_file" in settings.model_fields_set:
        raise ConfigurationError(
            [f"{path}: CONFIG_FILE names a file that does not exist — fix the path or unset it"]
        )
    return document


def _environment() -> dict[str, str]:
    """The process environment over the `.env` file, like the settings themselves."""
    values = {k: v for k, v in dotenv_values(".env").items() if v is not None}
    values.update(os.environ)
    return values


def build_directory(
    settings: Settings, document: Mapping[str, Any], env: Mapping[str, str], *, source: str
) -> ModelDirectory:
    problems: list[str] = []

    def bad(where: str, text: str) -> None:
        problems.append(f"{source}: {where} {text}")

    for key in document:
        if key not in _TOP_LEVEL:
            bad(
                f"[{key}]",
                'is not a known table — use [providers.NAME], [models."REF"] and [mcp.NAME]',
            )
    # Checked here too, so one run lists every problem of the file.
    problems.extend(build_mcp_servers(document, env, source=source)[1])

    providers: dict[str, ProviderConfig] = {
        DEFAULT_PROVIDER: ProviderConfig(
            DEFAULT_PROVIDER, settings.llm_base_url, settings.llm_api_key.get_secret_value()
        )
    }
    for name, table in _tables(document, "providers", bad).items():
        where = f"[providers.{name}]"
        if not _NAME.match(name):
            bad(where, "has an invalid name — use letters, digits, - and _ (at most 40)")
            continue
        if name == DEFAULT_PROVIDER:
            bad(where, "is reserved for the LLM_* settings — choose another name")
            continue
        provider = _provider(name, table, env, lambda key, text, w=where: bad(f"{w} {key}", text))
        if provider is not None:
            providers[name] = provider

    directory = ModelDirectory(providers)
    models: dict[str, ModelConfig] = {}
    for ref, table in _tables(document, "models", bad).items():
        where = f'[models."{ref}"]'
        config = _model(table, lambda key, text, w=where: bad(f"{w} {key}", text))
        if config is not None:
            models[directory.canonical(ref)] = config
    directory = ModelDirectory(providers, models)

    for ref, config in models.items():
        for fallback in config.fallback:
            if not _known(directory, fallback, settings.llm_model):
                bad(
                    f'[models."{ref}"] fallback:',
                    f"{fallback!r} is not a known model reference — name a configured "
                    "provider's model (NAME/model) or a model declared under [models]",
                )
    if problems:
        raise ConfigurationError(problems)
    return directory


def _tables(document: Mapping[str, Any], key: str, bad: Any) -> dict[str, Mapping[str, Any]]:
    value = document.get(key, {})
    if not isinstance(value, dict):
        bad(f"{key}:", "must be a table")
        return {}
    tables: dict[str, Mapping[str, Any]] = {}
    for name, table in value.items():
        if not isinstance(table, dict):
            bad(f"{key}.{name}:", "must be a table")
            continue
        tables[name] = table
    return tables


def _provider(
    name: str, table: Mapping[str, Any], env: Mapping[str, str], bad: Any
) -> ProviderConfig | None:
    ok = True
    for key in table:
        if key not in _PROVIDER_KEYS:
            bad(f"{key}:", f"is not a provider key — use {', '.join(sorted(_PROVIDER_KEYS))}")
            ok = False
    base_url = table.get("base_url")
    if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
        bad("base_url:", "is missing or not an http(s) URL")
        ok = False
    protocol = table.get("protocol", "openai")
    if protocol not in _PROTOCOLS:
        bad("protocol:", f"must be one of {', '.join(repr(p) for p in _PROTOCOLS)}")
        ok = False
    api_key = ""
    key_env = table.get("api_key_env")
    if key_env is not None:
        if not isinstance(key_env, str) or not key_env:
            bad("api_key_env:", "must name an environment variable")
            ok = False
        elif not env.get(key_env, "").strip():
            bad("api_key_env:", f"{key_env} is not set — set it in the environment or .env")
            ok = False
        else:
            api_key = env[key_env].strip()
    models = table.get("models")
    if models is not None and (
        not isinstance(models, list) or not all(isinstance(m, str) and m for m in models)
    ):
        bad("models:", "must be a list of model names")
        ok = False
    if not ok:
        return None
    return ProviderConfig(
        name,
        cast(str, base_url).rstrip("/"),
        api_key,
        cast(ProtocolName, protocol),
        tuple(models) if models is not None else None,
    )


def _model(table: Mapping[str, Any], bad: Any) -> ModelConfig | None:
    ok = True
    for key in table:
        if key not in _MODEL_KEYS:
            bad(f"{key}:", f"is not a model key — use {', '.join(sorted(_MODEL_KEYS))}")
            ok = False
    params = table.get("params", {})
    if not isinstance(params, dict):
        bad("params:", 'must be a table, e.g. { reasoning_effort = "high" }')
        ok = False
    else:
        for key in sorted(_RESERVED_PARAMS & params.keys()):
            bad("params:", f"can't set {key!r} (the bot sends it)")
            ok = False
    fallback = table.get("fallback", [])
    if not isinstance(fallback, list) or not all(isinstance(f, str) and f for f in fallback):
        bad("fallback:", "must be a list of model references")
        ok = False
    vision = table.get("vision")
    if vision is not None and not isinstance(vision, bool):
        bad("vision:", "must be true or false")
        ok = False
    context = table.get("context_tokens")
    if context is not None and (
        not isinstance(context, int) or isinstance(context, bool) or context < 1000
    ):
        bad("context_tokens:", "must be a whole number of at least 1000")
        ok = False
    think_tags = table.get("think_tags", True)
    if not isinstance(think_tags, bool):
        bad("think_tags:", "must be true or false")
        ok = False
    if not ok:
        return None
    return ModelConfig(
        params=dict(params),
        fallback=tuple(fallback),
        vision=vision,
        context_tokens=context,
        think_tags=think_tags,
    )


def _known(directory: ModelDirectory, ref: str, default_model: str) -> bool:
    provider, model = directory.split(ref)
    canonical = directory.canonical(ref)
    if canonical in directory.models or canonical == directory.canonical(default_model):
        return True
    if provider == DEFAULT_PROVIDER:
        # A "/" that names no provider is most likely a mistyped provider name; a plain
        # model id of the LLM_* endpoint can only be judged by that endpoint.
        return "/" not in model
    listed = directory.providers[provider].models
    return listed is None or model in listed
