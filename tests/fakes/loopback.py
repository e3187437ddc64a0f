"""The lifecycle every fake server shares: serve an aiohttp app on 127.0.0.1, `start`,
`close`, and `async with`. A fake says only how its app is built (`_make_runner`) and, if it
needs to, what happens right after start and right before close. No pytest imports here.
"""

from __future__ import annotations

import socket
from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self

from aiohttp import web

__all__ = ["LoopbackServer", "serve_on_loopback"]


async def serve_on_loopback(runner: web.AppRunner, port: int) -> int:
    """Set up `runner` and serve it on 127.0.0.1:`port`; return the port (chosen when 0).

    Bound here rather than by TCPSite so that port 0 yields the chosen port at once.
    """
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    chosen: int = sock.getsockname()[1]
    await web.SockSite(runner, sock).start()
    return chosen


class LoopbackServer(ABC):
    """Mixed into a fake that has a `port` (0: choose a free one) and an `_runner` attribute."""

    port: int
    _runner: web.AppRunner | None

    @abstractmethod
    def _make_runner(self) -> web.AppRunner:
        """The runner of the fake's aiohttp application (routes installed, not yet set up)."""

    # Optional hooks, empty unless a fake needs them.
    def _after_start(self) -> None:  # noqa: B027
        """Called once the port is known."""

    async def _before_close(self) -> None:  # noqa: B027
        """Called before the server stops (release held responses, close websockets)."""

    async def start(self) -> None:
        self._runner = self._make_runner()
        self.port = await serve_on_loopback(self._runner, self.port)
        self._after_start()

    async def close(self) -> None:
        if self._runner is None:
            return
        await self._before_close()
        runner, self._runner = self._runner, None
        await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
