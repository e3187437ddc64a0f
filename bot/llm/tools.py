"""The tool type the loop executes, and the registry it is given.

A tool is a plain async function plus a JSON schema. The handler receives a `ToolContext`
(who is asking, in which conversation) and the model's arguments as keyword arguments; it
returns text for the model (a `ToolOutput` when it also has images). Raising `ToolError`
gives the model a clear error message; any other exception becomes a generic error result
(logged, never shown verbatim).
Built-in tools live in `bot.tools`; this module knows none of them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.llm.types import ImagePart, ToolSpec


class ToolOutput(str):
    """A tool's result text that also carries images (`images`, maybe empty), which the loop
    sends along with the result to models that see images; the others read the text alone,
    which names each image. A `str`, so it is a valid result anywhere."""

    images: tuple[ImagePart, ...]

    def __new__(cls, text: str, images: Iterable[ImagePart] = ()) -> ToolOutput:
        output = super().__new__(cls, text)
        output.images = tuple(images)
        return output


def images_of(result: str) -> tuple[ImagePart, ...]:
    """The images a tool result carries (none for plain text)."""
    return result.images if isinstance(result, ToolOutput) else ()


class ToolError(Exception):
    """Raised by a tool to tell the model, in plain words, why the call failed."""


@dataclass(frozen=True, slots=True)
class ToolContext:
    """Where a tool call comes from. Ids are Discord snowflakes (None in a DM for guild_id)."""

    conversation_id: int | None = None
    guild_id: int | None = None
    channel_id: int | None = None
    user_id: int | None = None
    message_id: int | None = None  # the stored member message being answered


class ToolHandler(Protocol):
    def __call__(self, ctx: ToolContext, /, **arguments: Any) -> Awaitable[str]: ...


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str
    parameters: Mapping[str, Any]
    handler: ToolHandler | Callable[..., Awaitable[str]]
    timeout_s: float = 20.0
    # A short human label of the arguments for the Discord tool line, e.g. the URL.
    summarize: Callable[[Mapping[str, Any]], str] | None = None
    # The sources a result names, as (title, URL), for the answer's footer (web_search).
    cite: Callable[[str], Sequence[tuple[str, str]]] | None = None

    @property
    def spec(self) -> ToolSpec:
        return ToolSpec(self.name, self.description, self.parameters)


class ToolRegistry(Mapping[str, Tool]):
    """An immutable name → Tool mapping, the only thing the loop knows about tools."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools:
            if tool.name in self._tools:
                raise ValueError(f"duplicate tool name {tool.name!r}")
            self._tools[tool.name] = tool

    def __getitem__(self, name: str) -> Tool:
        return self._tools[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tools)

    def __len__(self) -> int:
        return len(self._tools)

    def specs(self) -> list[ToolSpec]:
        return [tool.spec for tool in self._tools.values()]

    def only(self, names: Iterable[str]) -> ToolRegistry:
        """The subset whose names are in `names` (e.g. the tools enabled in a channel)."""
        wanted = set(names)
        return ToolRegistry(t for n, t in self._tools.items() if n in wanted)
