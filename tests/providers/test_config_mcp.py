"""`[mcp.NAME]` tables of the configuration file: MCP servers, one plain line per problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config_file import load_directory, load_mcp_servers
from bot.errors import ConfigurationError
from bot.settings import Settings
from bot.tools.mcp import McpServerConfig

EXAMPLE = """
[mcp.time]
command = ["uvx", "mcp-server-time", "--local-timezone", "Europe/Paris"]
env = { TZ = "Europe/Paris", API_TOKEN = "s3cret" }
approval = "never"

[mcp.files]
command = ["npx", "-y", "@modelcontextprotocol/server-filesystem", "/srv"]
approval = ["write_file", "move_file"]
timeout_seconds = 45

[mcp.remote]
url = "https://mcp.example.com/mcp/"
headers_env = { Authorization = "REMOTE_MCP_AUTH" }
"""
ENV = {"REMOTE_MCP_AUTH": "Bearer rk-123"}


def settings(tmp_path: Path, text: str | None) -> Settings:
    path = tmp_path / "switchboard.toml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    return Settings(discord_token="t" * 30, llm_model="gpt-4o-mini", config_file=path)  # type: ignore[arg-type]


def problems(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigurationError) as caught:
        load_mcp_servers(settings(tmp_path, text), ENV if env is None else env)
    return caught.value.problems


def test_config_mcp_servers_from_tables(tmp_path: Path) -> None:
    time, files, remote = load_mcp_servers(settings(tmp_path, EXAMPLE), ENV)

    assert time == McpServerConfig(
        "time",
        command=("uvx", "mcp-server-time", "--local-timezone", "Europe/Paris"),
        env={"TZ": "Europe/Paris", "API_TOKEN": "s3cret"},
        approval="never",
    )
    assert (time.transport, time.timeout_s) == ("stdio", None)
    assert files.approval == ("write_file", "move_file") and files.timeout_s == 45.0
    assert remote.transport == "http" and remote.url == "https://mcp.example.com/mcp"
    assert remote.headers == {"Authorization": "Bearer rk-123"} and remote.approval is None
    # Secrets are in the values of env and headers: never in a repr, but listed for redaction.
    assert "s3cret" not in repr(time) and "rk-123" not in repr(remote)
    assert set(time.secrets()) == {"Europe/Paris", "s3cret"}
    assert remote.secrets() == ("Bearer rk-123",)


def test_config_mcp_approval_defaults_by_transport(tmp_path: Path) -> None:
    time, files, remote = load_mcp_servers(settings(tmp_path, EXAMPLE), ENV)
    stdio_default = McpServerConfig("plain", command=("x",))

    assert not time.needs_approval("delete", destructive=True)  # "never" wins over hints
    assert files.needs_approval("write_file", destructive=False)
    assert files.needs_approval("rm", destructive=True)
    assert not files.needs_approval("read_file", destructive=False)
    assert stdio_default.needs_approval("rm", destructive=True)
    assert not stdio_default.needs_approval("ls", destructive=False)
    assert remote.needs_approval("anything", destructive=False)  # unset + url: always


def test_config_mcp_no_file_means_no_servers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    plain = Settings(discord_token="t" * 30, llm_model="gpt-4o-mini")  # type: ignore[arg-type]
    assert load_mcp_servers(plain, {}) == ()
    assert load_mcp_servers(settings(tmp_path, '[providers.x]\nbase_url = "http://h/v1"'), {}) == ()


def test_config_mcp_every_problem_named_with_file_table_and_key(tmp_path: Path) -> None:
    text = """
[mcp.both]
command = ["a"]
url = "https://x.example/mcp"

[mcp.neither]
env = { A = "b" }

[mcp.badcmd]
command = "uvx mcp-server-time"
colour = "blue"

[mcp.badurl]
url = "ftp://x.example"
env = { A = "b" }

[mcp.nokey]
url = "https://x.example/mcp"
headers_env = { Authorization = "MISSING_VAR", "X-Team" = 3 }

[mcp.headers_on_stdio]
command = ["a"]
headers_env = { Authorization = "REMOTE_MCP_AUTH" }

[mcp.approve]
command = ["a"]
approval = "sometimes"
timeout_seconds = 0

[mcp.slow]
command = ["a"]
timeout_seconds = 601

[mcp."bad name"]
command = ["a"]

[mcp.two__parts]
command = ["a"]
"""
    found = problems(tmp_path, text)
    where = str(tmp_path / "switchboard.toml")
    assert all(line.startswith(f"{where}: [mcp.") for line in found), found
    expected = [
        "[mcp.both] command: or url: set exactly one",
        "[mcp.neither] command: or url: set exactly one",
        "[mcp.badcmd] colour: is not an MCP server key",
        "[mcp.badcmd] command: must be a non-empty list of strings",
        "[mcp.badurl] url: must be an http(s) URL",
        "[mcp.badurl] env: applies only to servers started with command",
        "[mcp.nokey] headers_env: must be a table of strings",
        "[mcp.headers_on_stdio] headers_env: applies only to servers reached by url",
        '[mcp.approve] approval: must be "never", "always" or a list',
        "[mcp.approve] timeout_seconds: must be a number of seconds above 0",
        "[mcp.slow] timeout_seconds: must be a number of seconds above 0 and at most 600",
        "[mcp.bad name] has an invalid name",
        "[mcp.two__parts] has an invalid name",
    ]
    for fragment in expected:
        assert sum(fragment in line for line in found) == 1, (fragment, found)
    assert len(found) == len(expected)


def test_config_mcp_missing_header_variable_names_it(tmp_path: Path) -> None:
    text = '[mcp.remote]\nurl = "https://x.example/mcp"\nheaders_env = { Authorization = "TOK" }'

    (line,) = problems(tmp_path, text, {})

    assert line.endswith(
        "[mcp.remote] headers_env: Authorization: TOK is not set — set it in "
        "the environment or .env"
    )


def test_config_mcp_problems_stop_load_directory_too(tmp_path: Path) -> None:
    text = '[providers.x]\nbase_url = "nope"\n\n[mcp.y]\ncommand = []\n'

    with pytest.raises(ConfigurationError) as caught:
        load_directory(settings(tmp_path, text), {})

    found = caught.value.problems
    assert len(found) == 2
    assert "[mcp.y] command: must be a non-empty list" in found[0]
    assert "[providers.x] base_url:" in found[1]


def test_config_mcp_tables_are_read_not_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = load_directory(settings(tmp_path, EXAMPLE), ENV)

    assert list(directory.providers) == ["default"]
    assert "ignored" not in caplog.text


def test_config_mcp_not_a_table(tmp_path: Path) -> None:
    found = problems(tmp_path, 'mcp = "servers"\n')
    assert found == [f"{tmp_path / 'switchboard.toml'}: mcp: must be a table of [mcp.NAME] tables"]
    found = problems(tmp_path, '[mcp]\ntime = "uvx"\n')
    assert found == [f"{tmp_path / 'switchboard.toml'}: [mcp.time] must be a table"]
