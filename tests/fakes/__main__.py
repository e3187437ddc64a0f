"""`python -m tests.fakes`: run the fake Discord and the fake LLM endpoint on 127.0.0.1.

For trying Switchboard without any account: it prints the settings to use, then serves until
Ctrl-C. `python -m bot check` passes against it, and `make run` connects to it (the fake
Discord has one server, #general and a member called alice; the fake model answers with a
short canned text).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from tests.fakes.discord_server import FakeDiscord
from tests.fakes.llm_server import FakeLLMServer


async def serve(discord_port: int, llm_port: int) -> None:
    async with FakeDiscord(port=discord_port) as fake, FakeLLMServer(port=llm_port) as llm:
        print("Fake Discord and fake LLM endpoint are running. Use these settings:")
        print(f"DISCORD_TOKEN={fake.token}")
        print(f"DISCORD_API_BASE={fake.api_base}")
        print(f"DISCORD_GATEWAY_URL={fake.gateway_url}")
        print(f"LLM_BASE_URL={llm.base_url}")
        print("LLM_MODEL=fake-model", flush=True)
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes", description=__doc__)
    parser.add_argument("--discord-port", type=int, default=8790)
    parser.add_argument("--llm-port", type=int, default=8791)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.discord_port, args.llm_port))


if __name__ == "__main__":
    main()
