"""Which providers and models exist: the directory every model reference is resolved in.

A *provider* is one endpoint (base URL, key, wire protocol). The `LLM_*` settings form the
provider named `default`; the configuration file adds named ones. A *model reference* is
`NAME/model` when NAME is a configured provider, otherwise a model of `default` (so
OpenRouter ids such as `openai/gpt-4o-mini` still work on a default OpenRouter endpoint).
References are kept in canonical form: `NAME/model` for named providers, the bare model id
for `default`. Per-model settings (`ModelConfig`) are keyed by canonical reference.

This module is pure data and lookups; `bot.config_file` builds a directory from settings and
the file, `bot.llm.router` streams through it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.llm.protocols.base import CallOptions

__all__ = [
    "DEFAULT_PROVIDER",
    "ModelConfig",
    "ModelDirectory",
    "ProtocolName",
    "ProviderConfig",
    "Resolved",
]

DEFAULT_PROVIDER = "default"
ProtocolName = Literal["openai", "responses", "anthropic"]


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    name: str
    base_url: str
    api_key: str = field(default="", repr=False)  # never logged
    protocol: ProtocolName = "openai"
    # Models offered for this provider; None: ask its `GET /models`.
    models: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class ModelConfig:
    """Settings of one model reference from the configuration file."""

    params: Mapping[str, Any] = field(default_factory=dict)
    fallback: tuple[str, ...] = ()  # canonical references, tried in order
    vision: bool | None = None  # None: known lists, else what the provider says
    context_tokens: int | None = None
    think_tags: bool = True


@dataclass(frozen=True, slots=True)
class Resolved:
    """A model reference resolved: which provider, which model id there, its settings."""

    ref: str  # canonical
    provider: ProviderConfig
    model: str  # the id the provider knows
    config: ModelConfig

    @property
    def options(self) -> CallOptions:
        return CallOptions(params=self.config.params, think_tags=self.config.think_tags)


_NO_CONFIG = ModelConfig()


class ModelDirectory:
    def __init__(
        self,
        providers: Mapping[str, ProviderConfig],
        models: Mapping[str, ModelConfig] | None = None,
    ) -> None:
        if DEFAULT_PROVIDER not in providers:
            raise ValueError("the default provider is missing")
        self._providers = dict(providers)
        self._models = dict(models or {})

    @property
    def providers(self) -> Mapping[str, ProviderConfig]:
        return self._providers

    @property
    def models(self) -> Mapping[str, ModelConfig]:
        return self._models

    def __iter__(self) -> Iterator[ProviderConfig]:
        return iter(self._providers.values())

    def split(self, ref: str) -> tuple[str, str]:
        """(provider name, model id) of a reference, canonical or not."""
        ref = ref.strip()
        name, slash, rest = ref.partition("/")
        if slash and rest and name in self._providers:
            return name, rest
        return DEFAULT_PROVIDER, ref

    def canonical(self, ref: str) -> str:
        name, model = self.split(ref)
        return model if name == DEFAULT_PROVIDER else f"{name}/{model}"

    def reference(self, provider: str, model: str) -> str:
        return model if provider == DEFAULT_PROVIDER else f"{provider}/{model}"

    def resolve(self, ref: str) -> Resolved:
        name, model = self.split(ref)
        canonical = model if name == DEFAULT_PROVIDER else f"{name}/{model}"
        return Resolved(
            canonical, self._providers[name], model, self._models.get(canonical, _NO_CONFIG)
        )

    def provider_of(self, ref: str) -> str:
        return self.split(ref)[0]

    def configured_models(self, provider: str) -> tuple[str, ...] | None:
        """The provider's `models` list from the file (None: ask the endpoint)."""
        return self._providers[provider].models
