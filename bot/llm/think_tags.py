"""Thinking written inline in the answer text, split out as reasoning.

Servers without a reasoning parser (vLLM or SGLang started without one, llama.cpp with
`--reasoning-format none`, many Ollama and TGI set-ups) stream a thinking model's reasoning
inside `content`, wrapped as `<think>…</think>` at the very start of the text; R1-style chat
templates put the opening tag in the prompt, so only the closing `</think>` arrives. The
splitter turns both into reasoning:

- `<think>` at the start (after white space) opens reasoning until `</think>`;
- otherwise text is passed on as text until a first `</think>`: then everything before it
  was reasoning, and the splitter says so (`RECLASSIFY`) so consumers can move it;
- after the closing tag everything is answer text (leading blank lines dropped) and tags are
  no longer looked for.

A tag cut across chunks is held back until it is complete or ruled out, so at most
`len("</think>") - 1` characters are ever delayed. Models whose answers legitimately contain
such tags switch this off per model (`think_tags = false` in the configuration file).
"""

from __future__ import annotations

from typing import Literal

__all__ = ["RECLASSIFY", "ThinkTagSplitter"]

OPEN = "<think>"
CLOSE = "</think>"

Kind = Literal["text", "reasoning", "reclassify"]
RECLASSIFY: tuple[Kind, str] = ("reclassify", "")

_START, _THINKING, _WATCHING, _ANSWER = range(4)


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest suffix of `text` that is a proper prefix of `tag`."""
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:n]):
            return n
    return 0


class ThinkTagSplitter:
    """Feed content pieces in order; get (kind, text) pieces back. One per model call."""

    __slots__ = ("_held", "_state", "_strip_answer")

    def __init__(self) -> None:
        self._state = _START
        self._held = ""
        self._strip_answer = False

    @property
    def done(self) -> bool:
        """Past the thinking: text now passes through unchanged."""
        return self._state == _ANSWER and not self._held and not self._strip_answer

    def stop_watching(self) -> None:
        """The server reports reasoning separately: it has a parser, so no bare `</think>`
        will be reasoning. An opened `<think>` still closes normally."""
        if self._state in (_START, _WATCHING):
            self._state = _ANSWER

    def feed(self, text: str) -> list[tuple[Kind, str]]:
        state = self._state
        if state == _ANSWER and not self._held and not self._strip_answer:
            return [("text", text)] if text else []
        buffer = self._held + text
        self._held = ""
        out: list[tuple[Kind, str]] = []
        if state == _START:
            stripped = buffer.lstrip()
            if not stripped:
                self._held = buffer  # only white space so far: undecided
                return out
            if stripped.startswith(OPEN):
                self._state = _THINKING
                return self._thinking(stripped[len(OPEN) :], out)
            if OPEN.startswith(stripped):
                self._held = buffer  # maybe the opening tag, cut across chunks
                return out
            self._state = _WATCHING
            return self._watching(buffer, out)
        if state == _THINKING:
            return self._thinking(buffer, out)
        if state == _WATCHING:
            return self._watching(buffer, out)
        return self._answer(buffer, out)

    def flush(self) -> list[tuple[Kind, str]]:
        """End of the stream: what is still held back."""
        held, self._held = self._held, ""
        if not held:
            return []
        if self._state == _THINKING:
            return [("reasoning", held)]
        if self._state == _ANSWER and self._strip_answer:
            held = held.lstrip("\r\n")
        return [("text", held)] if held else []

    def _thinking(self, buffer: str, out: list[tuple[Kind, str]]) -> list[tuple[Kind, str]]:
        return self._until_close(buffer, "reasoning", out)

    def _watching(self, buffer: str, out: list[tuple[Kind, str]]) -> list[tuple[Kind, str]]:
        return self._until_close(buffer, "text", out)

    def _until_close(
        self, buffer: str, kind: Kind, out: list[tuple[Kind, str]]
    ) -> list[tuple[Kind, str]]:
        """Emit `buffer` as `kind` up to `</think>` (holding back a partial tag), then the
        answer after it. Text seen while only watching turns out to have been reasoning."""
        end = buffer.find(CLOSE)
        if end < 0:
            keep = _partial_suffix(buffer, CLOSE)
            if keep:
                self._held = buffer[-keep:]
                buffer = buffer[:-keep]
            if buffer:
                out.append((kind, buffer))
            return out
        if kind == "text":
            out.append(RECLASSIFY)
        if end:
            out.append(("reasoning", buffer[:end]))
        self._state = _ANSWER
        self._strip_answer = True
        return self._answer(buffer[end + len(CLOSE) :], out)

    def _answer(self, buffer: str, out: list[tuple[Kind, str]]) -> list[tuple[Kind, str]]:
        if self._strip_answer:
            buffer = buffer.lstrip("\r\n")
            if not buffer:
                return out
            self._strip_answer = False
        if buffer:
            out.append(("text", buffer))
        return out
