"""How long MCP servers keep members waiting for the bot's first answer after a start.

The real bot process (`python -m bot`) starts against the fake Discord and the fake LLM, with
a configuration file declaring `servers` MCP servers (the tests' own stdio server; one of
them sleeps before serving, as a slow server would), or none as the reference. As soon as the
bot says it is connected, a member runs `/chat`; the figure is the time from spawning the
process until the answer's text is visible. The bot does not wait for its MCP servers (they
start in the background, taking turns), so the difference between the two runs is what the
servers cost the first answer: the CPU their start-up takes from the bot's own, nothing
more. Each run is measured `repeats` times and the median taken.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.bot_process import bot_process
from bench.results import median
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.llm_scripts import Scripted, text_reply
from tests.fakes.llm_server import FakeLLMServer

ROOT = Path(__file__).resolve().parent.parent
ANSWER = "ready to help"
SLOW_START_S = 120.0  # the slow server is still starting when the run ends


def config_file(folder: Path, servers: int) -> Path:
    """A CONFIG_FILE declaring `servers` MCP servers (the one in the middle slow to start)."""
    blocks = []
    for n in range(servers):
        args = ["-m", "tests.fakes.mcp_server_start"]
        if n == servers // 2:
            args += ["--delay-start", str(SLOW_START_S)]
        command = ", ".join(f'"{part}"' for part in [sys.executable, *args])
        blocks.append(f'[mcp.s{n}]\ncommand = [{command}]\nenv = {{ PYTHONPATH = "{ROOT}" }}\n')
    path = folder / "switchboard.toml"
    path.write_text("\n".join(blocks))
    return path


async def first_answer_ms(servers: int) -> float:
    """Milliseconds from spawning the bot to the first /chat answer's text being visible."""
    async with FakeDiscord() as fake, FakeLLMServer() as llm:

        def respond(body: dict[str, Any]) -> Scripted:
            return text_reply(ANSWER)

        llm.responder = respond
        assert fake.channel is not None
        channel_id = fake.channel.id
        with tempfile.TemporaryDirectory(prefix="bench-mcp-answer-") as tmp:
            env = {"CONFIG_FILE": str(config_file(Path(tmp), servers))} if servers else {}
            started = time.perf_counter()
            async with bot_process(fake, llm, Path(tmp), name=f"mcp-{servers}", env=env):
                await fake.invoke_slash_command("chat", {"prompt": "are you there?"})
                thread = await fake.wait_for(
                    lambda: next(iter(fake.threads(channel_id)), None), timeout=60
                )
                await fake.wait_for_message(thread.id, lambda m: ANSWER in m.content, timeout=60)
                answered = time.perf_counter()
    return (answered - started) * 1000


async def answer_delay(servers: int, repeats: int) -> tuple[float, float]:
    """(median first answer with no MCP servers, median with `servers`), runs interleaved so
    that whatever else the machine does weighs on both alike."""
    without: list[float] = []
    with_servers: list[float] = []
    for _ in range(repeats):
        without.append(await first_answer_ms(0))
        with_servers.append(await first_answer_ms(servers))
    return median(without), median(with_servers)
