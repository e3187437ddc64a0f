"""Thread titles like people write them: after the first answer in a thread, a model writes a
short title and the thread is renamed from the truncated prompt to it.

The call is billed as its own ledger row (`purpose = title`, one per conversation); the
rename goes through the `ThreadRenamer` port (the Discord side implements it; Discord allows
only two renames of a channel per ten minutes, and a thread is renamed once). Any failure is
logged and stays silent for members: the thread simply keeps its first name.
`TITLE_MODEL` chooses the model (empty: the answer's own model; `off`: no titles).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.llm.loop import ChatStreamer
from bot.llm.types import ChatMessage, ChatRequest, Completion
from bot.llm.usage import estimate_usage
from bot.services.ports import TurnContext
from bot.storage.conversations import ConversationRepository
from bot.storage.messages import MessageRepository
from bot.tasks import spawn

log = logging.getLogger(__name__)

TITLE_PROMPT = (
    "Write a title for a Discord thread that begins with the exchange below: at most six "
    "words, in the language of the question, no quotes, no emoji, no final period. Answer "
    "with the title only."
)
TITLE_MAX_TOKENS = 40
QUOTED_MAX = 1500
TITLE_MAX = 100


class ThreadRenamer(Protocol):
    async def rename_thread(self, channel_id: int, title: str) -> bool:
        """Rename the thread; False when it could not be done (it keeps its name)."""


def clean_title(text: str) -> str | None:
    """The first line of what the model wrote, without quotes or markdown, ≤ 100 chars."""
    line = next((line for line in text.splitlines() if line.strip()), "")
    line = re.sub(r"^(?:title\s*:\s*)", "", line.strip(), flags=re.IGNORECASE)
    line = re.sub(r"[*_`~#>|\"“”«»]+", "", line).strip().rstrip(".")
    line = " ".join(line.split())
    if not line:
        return None
    return line if len(line) <= TITLE_MAX else line[: TITLE_MAX - 1].rstrip() + "…"


class ThreadTitles:
    """Implements the chat service's answer follow-up for thread titles."""

    def __init__(
        self,
        streamer: ChatStreamer,
        conversations: ConversationRepository,
        messages: MessageRepository,
        billing: Callable[..., Awaitable[object]] | None,
        *,
        model: str,
    ) -> None:
        self._streamer = streamer
        self._conversations = conversations
        self._messages = messages
        self._billing = billing
        self._model = model  # "" for the answer's own model
        self.renamer: ThreadRenamer | None = None  # the Discord side, once connected

    async def answered(self, turn: TurnContext, text: str) -> None:
        """After a complete answer: title the thread if this was its first exchange."""
        conversation = turn.conversation
        if conversation.kind != "thread" or self.renamer is None or not text.strip():
            return
        recent = await self._messages.history(conversation.id, limit=4)
        if sum(1 for m in recent if m.role == "assistant") != 1:
            return  # not the first answer: the thread already has its title
        spawn(self._title(turn, text), name=f"title-{conversation.id}")

    async def _title(self, turn: TurnContext, text: str) -> None:
        conversation = turn.conversation
        model = self._model or turn.model
        question = turn.user_message.content[:QUOTED_MAX]
        request = ChatRequest(
            model,
            [
                ChatMessage("system", TITLE_PROMPT),
                ChatMessage("user", f"Question:\n{question}\n\nAnswer:\n{text[:QUOTED_MAX]}"),
            ],
            max_tokens=TITLE_MAX_TOKENS,
        )
        try:
            completion = await self._complete(request)
            if completion is None:
                return
            usage = completion.usage or estimate_usage(
                request, completion.text, completion.reasoning
            )
            if self._billing is not None:
                await self._billing(
                    key=f"title:{conversation.id}",
                    model=completion.source or model,
                    usage=usage,
                    guild_id=conversation.guild_id,
                    channel_id=conversation.channel_id,
                    user_id=turn.user_message.author_id,
                    conversation_id=conversation.id,
                    answer_id=turn.answer_id,
                    purpose="title",
                )
            title = clean_title(completion.text)
            renamer = self.renamer
            if title is None or renamer is None:
                return
            if await renamer.rename_thread(conversation.channel_id, title):
                await self._conversations.set_title(conversation.id, title)
        except Exception:
            # A title is a nicety: members never hear of its failure.
            log.warning("no title for conversation %s", conversation.id, exc_info=True)

    async def _complete(self, request: ChatRequest) -> Completion | None:
        completion: Completion | None = None
        async for event in self._streamer.stream(request):
            if isinstance(event, Completion):
                completion = event
        return completion
