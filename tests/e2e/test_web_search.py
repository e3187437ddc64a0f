"""web_search end to end: off by default, switched on in a channel, results from a SearXNG
instance (a fake on 127.0.0.1), and the sources listed under the answer as links that do not
unfold into embeds."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import ephemeral_reply, make_settings, running_bot
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.llm_scripts import text_reply, tool_call_reply
from tests.fakes.llm_server import FakeLLMServer
from tests.fakes.search_servers import FakeSearchServer


async def test_web_search_sources_are_listed_under_the_answer(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer]
) -> None:
    fake, llm = fakes
    hits = [
        {"title": "Python 3.13 released", "url": "https://python.example/3.13", "snippet": "New."},
        {"title": "What's new", "url": "https://docs.example/whatsnew", "snippet": "Changes."},
    ]
    async with FakeSearchServer("searxng", hits=hits) as searxng:
        settings = make_settings(tmp_path, fake, llm).model_copy(
            update={"search_provider": "searxng", "search_url": searxng.base_url}
        )
        async with running_bot(settings, fake, llm) as app:
            switched = await fake.invoke_slash_command(
                "settings", {"tool": "web_search", "enabled": True}, subcommand="tools"
            )
            assert "`web_search` is on" in (await ephemeral_reply(fake, switched)).content
            llm.enqueue(
                tool_call_reply([("web_search", {"query": "python release"})]),
                text_reply("Python 3.13 is out [1]."),
            )
            await fake.invoke_slash_command("chat", {"prompt": "latest python?"})
            thread = await fake.wait_for(lambda: next(iter(fake.threads(app.channel_id)), None))
            answer = await app.final_answer(thread.id)
    assert searxng.requests[0].query["q"] == "python release"
    assert "Python 3.13 is out [1]." in answer.content
    assert "-# Sources: [Python 3.13 released](<https://python.example/3.13>)" in answer.content
    assert "[What's new](<https://docs.example/whatsnew>)" in answer.content
    result = next(m for m in llm.chat_requests[-1].json["messages"] if m["role"] == "tool")
    assert "https://python.example/3.13" in result["content"]
