"""Records as the rest of the bot sees them. Times are timezone-aware UTC datetimes
(stored as INTEGER unix milliseconds); ids of Discord objects are snowflake ints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.vocabulary import AnswerStatus, ChannelMode, ReasoningMode

ConversationKind = Literal["thread", "inline", "dm"]
StepKind = Literal["reasoning", "text", "tool_call", "tool_result"]
ToolResultStatus = Literal["ok", "error", "timeout", "refused", "cancelled"]
Role = Literal["user", "assistant"]


@dataclass(frozen=True, slots=True)
class Conversation:
    id: int
    kind: ConversationKind
    guild_id: int | None  # None in DMs
    channel_id: int  # where it lives: the thread, the inline channel or the DM channel
    parent_channel_id: int | None  # a thread's parent channel, whose settings it inherits
    title: str | None
    model: str | None  # chosen with `/chat model:`; None = the channel's model
    created_by: int | None
    created_at: datetime
    closed_at: datetime | None  # set by `/new`: a closed conversation takes no new messages


@dataclass(frozen=True, slots=True)
class Step:
    """One ordered part of an answer. Reasoning and text are stored per round, not per delta."""

    seq: int
    round: int
    kind: StepKind
    content: str  # reasoning / text / tool result; "" for a tool call
    tool_call_id: str | None = None
    tool_name: str | None = None
    tool_arguments: str | None = None  # raw JSON text of a tool call
    tool_status: ToolResultStatus | None = None  # for a tool result
    duration_ms: int | None = None  # for a tool result
    # JSON object of provider fields that came with a tool call (e.g. Gemini's thought
    # signature); only the model that produced the round's artefacts gets them back.
    tool_extra: str | None = None


AttachmentKind = Literal["text", "pdf", "image", "skipped"]


@dataclass(frozen=True, slots=True)
class StoredAttachment:
    """One attachment of a member's message, as it was read (see migration 0005)."""

    position: int
    kind: AttachmentKind
    filename: str
    mime: str | None = None
    text: str | None = None  # extracted text, or why it was skipped
    data: bytes | None = None  # an image's downscaled bytes
    width: int | None = None
    height: int | None = None
    tokens: int = 0


@dataclass(frozen=True, slots=True)
class RoundArtefacts:
    """What a provider requires back with one round of an answer (JSON text, opaque here)."""

    round: int
    source: str  # the model reference that produced them
    data: str  # a JSON object


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A member's message or an answer of the bot, with the answer's steps in order."""

    id: int
    conversation_id: int
    role: Role
    content: str  # member text, or the answer's final visible text
    author_id: int | None
    author_name: str | None
    discord_message_id: int | None
    status: AnswerStatus  # members' messages are always "complete"
    model: str | None
    created_at: datetime
    steps: tuple[Step, ...] = ()
    error_text: str | None = None  # why an answer ended in "error" (safe to show)
    reply_to_message_id: int | None = None  # the member message an answer replies to
    finished_at: datetime | None = None
    artefacts: tuple[RoundArtefacts, ...] = ()  # per round, in round order


@dataclass(frozen=True, slots=True)
class DiscordMessageRef:
    """A Discord message that shows (part of) an answer; used to edit it after a restart."""

    message_id: int  # our StoredMessage id
    position: int  # 0 for the first Discord message of the answer, 1 for the next, ...
    channel_id: int
    discord_message_id: int


@dataclass(frozen=True, slots=True)
class ChannelSettings:
    """Per-channel overrides; None means inherit (thread → parent channel → defaults)."""

    channel_id: int
    guild_id: int | None
    model: str | None = None
    system_prompt: str | None = None
    reasoning_mode: ReasoningMode | None = None
    mode: ChannelMode | None = None
    mentions: bool | None = None
    tools: tuple[tuple[str, bool], ...] = ()  # explicit (tool name, enabled) toggles


@dataclass(frozen=True, slots=True)
class SearchHit:
    message_id: int
    role: Role
    author_name: str | None
    created_at: datetime
    snippet: str
