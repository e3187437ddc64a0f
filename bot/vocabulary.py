"""The few fixed vocabularies several layers share, defined once: how an answer ended, how a
channel shows reasoning, and how a channel holds conversations. Storage keeps them in CHECK
constraints, the renderer draws them, the settings commands offer them."""

from __future__ import annotations

from typing import Literal

# `streaming` while an answer is being written; the others are final.
AnswerStatus = Literal["streaming", "complete", "stopped", "interrupted", "error"]
# show: a live excerpt while thinking, one line after; summary: the line only; hide: nothing.
ReasoningMode = Literal["show", "summary", "hide"]
# threads: /chat and mentions open a thread per conversation; inline: the channel is one.
ChannelMode = Literal["threads", "inline"]

__all__ = ["AnswerStatus", "ChannelMode", "ReasoningMode"]
