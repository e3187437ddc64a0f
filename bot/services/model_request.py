"""The request of one turn: the system prompt with the facts of the moment, the
conversation's history ordered for the message being answered, rebuilt for the model and
trimmed to the model's context window after the answer's and the tools' share, and the
images of the last few member messages.

Only the newest messages are loaded at first; the window widens only while all of it fits,
so a long rolling conversation costs in proportion to what is sent.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.errors import LLMContextTooLongError
from bot.llm.loop import DEFAULT_MAX_TOOL_ROUNDS
from bot.llm.tokens import DEFAULT_MAX_OUTPUT_TOKENS, tool_spec_tokens
from bot.llm.tools import ToolRegistry
from bot.llm.types import ChatRequest, ImagePart
from bot.services.history import build_model_messages
from bot.services.ports import ContextWindowSource
from bot.storage.attachments import AttachmentRepository
from bot.storage.messages import MessageRepository
from bot.storage.models import StoredMessage

MIN_OUTPUT_TOKENS = 256
# Messages loaded for a turn at first; the window grows (x4) only while all of it fits.
HISTORY_WINDOW = 300
# Member messages (the newest) whose images are sent to the model again on each turn.
RECENT_IMAGE_MESSAGES = 3
HISTORY_WINDOW_MAX = 20_000
TOO_LONG = (
    "This message is too long for the model's context window. "
    "Shorten it, or start a new conversation."
)


@dataclass(frozen=True, slots=True)
class EngineLimits:
    max_tool_rounds: int = DEFAULT_MAX_TOOL_ROUNDS
    context_tokens: int = 32_000
    max_output_tokens: int = DEFAULT_MAX_OUTPUT_TOKENS


DEFAULT_LIMITS = EngineLimits()


def history_for_turn(
    stored: Sequence[StoredMessage], user_message_id: int, current_answer_id: int | None
) -> list[StoredMessage]:
    """What the model may see when answering `user_message_id`.

    Queued messages make id order differ from conversation order (a message that arrived
    while an earlier one was being answered has a smaller id than that answer), so each answer
    is placed right after the message it replies to. Messages after the one being answered are
    left out, as is any earlier answer to it (a retry replaces it) and the answer in progress.
    Of several answers to one message (an error, then a retry), only the last one counts.
    """
    latest_answer: dict[int, StoredMessage] = {}
    keyed: list[tuple[tuple[int, int, int], StoredMessage]] = []
    for message in stored:
        if message.role == "user":
            if message.id <= user_message_id:
                keyed.append(((message.id, 0, message.id), message))
            continue
        if message.id == current_answer_id:
            continue
        anchor = message.reply_to_message_id
        if anchor is None:
            if current_answer_id is None or message.id < current_answer_id:
                keyed.append(((message.id, 1, message.id), message))
        elif anchor < user_message_id:
            latest_answer[anchor] = message
    keyed.extend(((anchor, 1, m.id), m) for anchor, m in latest_answer.items())
    keyed.sort(key=lambda item: item[0])
    return [message for _, message in keyed]


class ModelRequestBuilder:
    def __init__(
        self,
        messages: MessageRepository,
        *,
        limits: EngineLimits,
        context_windows: ContextWindowSource | None,
        clock: Callable[[], datetime],
    ) -> None:
        self._messages = messages
        self._attachments = AttachmentRepository(messages.db)
        self._limits = limits
        self._context_windows = context_windows
        self._clock = clock

    async def build(
        self,
        conversation_id: int,
        user_message_id: int,
        answer_id: int,
        *,
        system_prompt: str,
        place_description: str | None,
        model: str,
        tools: ToolRegistry,
    ) -> tuple[ChatRequest, bool]:
        """The request answering `user_message_id`, and whether older turns were left out."""
        prompt = self._system_prompt(system_prompt, place_description)
        tool_tokens = sum(tool_spec_tokens(spec) for spec in tools.specs())
        window = self._limits.context_tokens
        if self._context_windows is not None:
            window = await self._context_windows.tokens(model)
        # A small local window (4k) can't give a quarter of itself to the answer and another
        # 4k to the prompt: the answer gets at most a quarter of the window.
        max_output = min(self._limits.max_output_tokens, max(MIN_OUTPUT_TOKENS, window // 4))
        budget = window - max_output - tool_tokens
        # Load the newest messages first and widen the window only while everything still
        # fits: a rolling inline conversation can hold tens of thousands of messages, and
        # loading them all for every turn would stall the event loop for everyone.
        limit: int | None = HISTORY_WINDOW
        images: dict[int, tuple[ImagePart, ...]] | None = None
        while True:
            stored = await self._messages.history(conversation_id, limit)
            ordered = history_for_turn(stored, user_message_id, answer_id)
            if images is None:
                images = await self._recent_images(ordered)
            built = build_model_messages(
                ordered, system_prompt=prompt, token_budget=budget, images=images
            )
            if limit is None or len(stored) < limit:
                complete = True
                break
            complete = False
            if built.omitted_turns:
                break
            limit = None if limit >= HISTORY_WINDOW_MAX else limit * 4
        if built.estimated_tokens > budget:
            raise LLMContextTooLongError(
                TOO_LONG, detail=f"{built.estimated_tokens} tokens > budget {budget}"
            )
        request = ChatRequest(model, built.messages, max_tokens=max_output)
        left_out = built.omitted_turns > 0 or not complete
        return request, left_out

    async def _recent_images(
        self, ordered: Sequence[StoredMessage]
    ) -> dict[int, tuple[ImagePart, ...]]:
        """The images of the last few member messages: only they are sent again (older
        images cost their tokens on every turn while a conversation moves on)."""
        recent = [m.id for m in ordered if m.role == "user"][-RECENT_IMAGE_MESSAGES:]
        stored = await self._attachments.images_of(recent)
        return {
            message_id: tuple(
                ImagePart(
                    image.mime or "image/png",
                    base64.b64encode(image.data or b"").decode("ascii"),
                    image.tokens,
                    image.filename,
                )
                for image in found
            )
            for message_id, found in stored.items()
        }

    def _system_prompt(self, base: str, place_description: str | None) -> str:
        now = self._clock()
        facts = [f"Current date and time: {now:%A %Y-%m-%d %H:%M} UTC."]
        if place_description:
            facts.append(place_description)
        return base + "\n\n" + " ".join(facts)
