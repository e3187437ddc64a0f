"""Incremental Server-Sent Events decoder for streamed chat completions.

Owns the byte framing only: `feed()` takes whatever a socket read returned and gives back the
`data` payload of every event that became complete, as bytes (JSON is parsed by the caller, once
per event). It follows the SSE rules providers actually exercise: LF, CRLF and lone-CR line
endings (also when a CRLF is split across reads), comment lines (`: OPENROUTER PROCESSING`) and
events without data (keep-alives) produce nothing, `data:` with or without the space, several
`data:` lines joined by "\n", other fields (`event:`, `id:`, `retry:`) ignored, a leading BOM.

Payloads stay bytes until the whole event is in, so a UTF-8 character split across reads is
never decoded half-way. The common case (`data: {...}` on one line) takes a fast path without
splitting lines.
"""

from __future__ import annotations

__all__ = ["SSEDecoder"]

_BOM = b"\xef\xbb\xbf"


class SSEDecoder:
    """Feed raw bytes, get complete event payloads. One instance per response."""

    __slots__ = ("_head", "_last_cr", "_pending", "_started")

    def __init__(self) -> None:
        # Bytes of an event that is not complete yet (kept as pieces to avoid quadratic joins).
        self._pending: list[bytes] = []
        # The previous read ended in "\r": a "\n" opening the next read belongs to that CRLF.
        self._last_cr = False
        self._started = False
        self._head = b""

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes from the wire; return the payloads of the events they completed."""
        if not self._started:
            data = self._head + data
            if len(data) < 3 and _BOM.startswith(data):
                self._head = data  # maybe a BOM split across reads
                return []
            self._started = True
            self._head = b""
            if data.startswith(_BOM):
                data = data[3:]
        if self._last_cr or b"\r" in data:
            data = self._normalize(data)
        if not data:
            return []
        pending = self._pending
        if pending:
            # Only join when an event can have ended: a blank line inside `data` or across
            # the boundary with what is pending.
            if b"\n\n" not in data and not (data[0] == 10 and pending[-1].endswith(b"\n")):
                pending.append(data)
                return []
            pending.append(data)
            buf = b"".join(pending)
            pending.clear()
        else:
            buf = data
            if b"\n\n" not in buf:
                pending.append(buf)
                return []
        events = buf.split(b"\n\n")
        tail = events.pop()
        if tail:
            pending.append(tail)
        out: list[bytes] = []
        for event in events:
            # Fast paths: a single `data: ` line (chat completions), or an `event: ` line then
            # one `data: ` line (Anthropic and the Responses API name every event).
            if event.startswith(b"data: "):
                if b"\n" not in event:
                    out.append(event[6:])
                    continue
            elif event.startswith(b"event: "):
                newline = event.find(b"\n")
                if event.startswith(b"data: ", newline + 1) and b"\n" not in event[newline + 1 :]:
                    out.append(event[newline + 7 :])
                    continue
            if event:
                payload = _parse_event(event)
                if payload is not None:
                    out.append(payload)
        return out

    def flush(self) -> list[bytes]:
        """End of stream: dispatch a last event that had no closing blank line."""
        if not self._pending:
            return []
        buf = b"".join(self._pending)
        self._pending.clear()
        out: list[bytes] = []
        for event in buf.split(b"\n\n"):
            payload = _parse_event(event) if event else None
            if payload is not None:
                out.append(payload)
        return out

    def _normalize(self, data: bytes) -> bytes:
        if self._last_cr and data.startswith(b"\n"):
            data = data[1:]
        self._last_cr = data.endswith(b"\r")
        return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def _parse_event(event: bytes) -> bytes | None:
    """The joined `data` lines of one event, or None when it has none (comment, keep-alive)."""
    lines: list[bytes] = []
    for line in event.split(b"\n"):
        if not line or line[0] == 58:  # ":" starts a comment
            continue
        name, _, value = line.partition(b":")
        if name != b"data":
            continue
        if value.startswith(b" "):
            value = value[1:]
        lines.append(value)
    if not lines:
        return None
    return lines[0] if len(lines) == 1 else b"\n".join(lines)
