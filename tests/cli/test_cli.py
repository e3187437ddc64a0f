"""`python -m bot check | invite | backup`, run as a newcomer or an operator would: as processes
(usage errors and per-command help, which argparse answers before anything runs, in-process)."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.__main__ import main as bot_main
from bot.cli import PERMISSIONS
from bot.storage.conversations import ConversationRepository
from bot.storage.database import Database
from bot.storage.messages import MessageRepository
from tests.fakes.bot_env import bot_env, clean_env
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.llm_server import FakeLLMServer

ROOT = Path(__file__).resolve().parents[2]


async def bot_command(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeDiscord, FakeLLMServer]]:
    async with FakeDiscord() as fake, FakeLLMServer() as llm:
        yield fake, llm


def env_for(fake: FakeDiscord, llm: FakeLLMServer, tmp_path: Path, **extra: str) -> dict[str, str]:
    return bot_env(fake, llm, tmp_path / "data" / "bot.db", **extra)


async def test_cli_readme_flow_check_passes_against_the_fakes(tmp_path: Path) -> None:
    """Start the fakes as the README says, copy the printed settings, run check."""
    fakes = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes",
        "--discord-port",
        "0",
        "--llm-port",
        "0",
        cwd=ROOT,
        env=clean_env(),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert fakes.stdout is not None
        env = clean_env()
        while "LLM_MODEL" not in env:
            line = (await asyncio.wait_for(fakes.stdout.readline(), 30)).decode().strip()
            assert line, "the fakes exited early"
            if "=" in line:
                name, value = line.split("=", 1)
                env[name] = value
        code, out, err = await bot_command("check", env=env, cwd=tmp_path)
    finally:
        fakes.terminate()
        await fakes.wait()
    assert code == 0, out + err
    assert "✓ Discord token belongs to Switchboard" in out
    assert "✓ LLM endpoint" in out
    assert "✓ database" in out
    assert "Traceback" not in err


async def test_cli_check_reports_each_problem_plainly(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer]
) -> None:
    fake, llm = fakes
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead_port = closed.getsockname()[1]
    env = env_for(
        fake,
        llm,
        tmp_path,
        DISCORD_TOKEN="wrong-token-value",
        LLM_BASE_URL=f"http://127.0.0.1:{dead_port}/v1",
        LLM_MODEL="some-model",
    )
    code, out, err = await bot_command("check", env=env, cwd=tmp_path)
    assert code == 1
    assert "✗ Discord refused DISCORD_TOKEN" in out
    assert f"✗ LLM endpoint http://127.0.0.1:{dead_port}/v1" in out
    assert "✓ database" in out
    assert "wrong-token-value" not in out + err
    assert "Traceback" not in err


async def test_cli_check_names_a_rejected_llm_key_and_an_unlisted_model(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer]
) -> None:
    fake, llm = fakes
    llm.api_key = "the-right-key"
    env = env_for(fake, llm, tmp_path, LLM_API_KEY="sk-the-wrong-key", LLM_MODEL="not-listed")
    code, out, _ = await bot_command("check", env=env, cwd=tmp_path)
    assert code == 1
    assert "LLM_API_KEY" in out and "sk-the-wrong-key" not in out
    llm.api_key = None
    code, out, _ = await bot_command("check", env=env, cwd=tmp_path)
    assert code == 0
    assert "! LLM_MODEL not-listed is not in the LLM endpoint's model list" in out


async def test_cli_missing_settings_exit_2_with_one_line_each(tmp_path: Path) -> None:
    code, out, err = await bot_command("check", env=clean_env(), cwd=tmp_path)
    assert code == 2
    assert "✗ DISCORD_TOKEN is missing" in out and "✗ LLM_MODEL is missing" in out
    assert "Traceback" not in err


async def test_cli_invite_prints_the_minimal_permission_url(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer]
) -> None:
    fake, llm = fakes
    code, out, _ = await bot_command("invite", env=env_for(fake, llm, tmp_path), cwd=tmp_path)
    assert code == 0
    assert out.strip() == (
        "https://discord.com/oauth2/authorize"
        f"?client_id={fake.application_id}&scope=bot%20applications.commands"
        f"&permissions={PERMISSIONS}"
    )
    assert PERMISSIONS == 309237763072


async def test_cli_backup_while_writing_is_consistent(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer]
) -> None:
    fake, llm = fakes
    env = env_for(fake, llm, tmp_path)
    database = Path(env["DATABASE_PATH"])
    stop = asyncio.Event()
    written = 0
    async with Database.open(database) as db:
        conversation = await ConversationRepository(db).create("inline", 1, 10, None, None, None, 5)
        messages = MessageRepository(db)

        async def writer() -> None:
            nonlocal written
            while not stop.is_set():
                await messages.add_user_message(conversation.id, f"m{written}", 5, "Ann", None)
                written += 1

        task = asyncio.ensure_future(writer())
        copy = tmp_path / "backups" / "copy.db"
        copy.parent.mkdir()
        code, out, err = await bot_command("backup", str(copy), env=env, cwd=tmp_path)
        stop.set()
        await task
    assert code == 0, err
    assert "Backed up" in out
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
        assert conn.execute("PRAGMA user_version").fetchone()[0] >= 2
    assert 0 < rows <= written
    assert not (copy.parent / "copy.db-wal").exists()


async def test_cli_backup_refuses_the_live_path(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeLLMServer]
) -> None:
    fake, llm = fakes
    env = env_for(fake, llm, tmp_path)
    code, _, err = await bot_command("backup", env["DATABASE_PATH"], env=env, cwd=tmp_path)
    assert code in (1, 2) and "Traceback" not in err


async def test_cli_help_lists_every_command_and_exits_0(tmp_path: Path) -> None:
    code, out, err = await bot_command("--help", env=clean_env(), cwd=tmp_path)
    assert code == 0, err
    assert out.startswith("usage: python -m bot")
    for command in ("check", "invite", "backup", "start the bot"):
        assert command in out
    assert err == ""


def run_in_process(
    *args: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str, str]:
    """`python -m bot ARGS` in this process, for what argparse answers before anything runs
    (the real entry point as a process is covered above): (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["__main__.py", *args])  # how `python -m bot` names itself
    with pytest.raises(SystemExit) as exited:
        bot_main(list(args))
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


Run = tuple[pytest.CaptureFixture[str], pytest.MonkeyPatch]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    for name in ("DISCORD_TOKEN", "LLM_BASE_URL", "LLM_MODEL", "DATABASE_PATH", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return capsys, monkeypatch


def test_cli_help_word_is_kept_as_a_spelling_of_help(cli: Run) -> None:
    code, out, _ = run_in_process("help", "backup", capsys=cli[0], monkeypatch=cli[1])
    assert code == 0
    assert out.startswith("usage: python -m bot backup [-h] PATH")


def test_cli_check_help_describes_check_without_running_it(cli: Run) -> None:
    code, out, err = run_in_process("check", "--help", capsys=cli[0], monkeypatch=cli[1])
    assert code == 0, err
    assert out.startswith("usage: python -m bot check")
    assert "Message Content" in out
    assert "✗" not in out  # nothing was checked: the settings are missing in this env


def test_cli_backup_help_names_the_path_argument(cli: Run) -> None:
    code, out, err = run_in_process("backup", "--help", capsys=cli[0], monkeypatch=cli[1])
    assert code == 0, err
    assert out.startswith("usage: python -m bot backup [-h] PATH")
    assert "safe while the bot runs" in out


def test_cli_unknown_command_is_a_usage_error(cli: Run) -> None:
    code, out, err = run_in_process("frobnicate", capsys=cli[0], monkeypatch=cli[1])
    assert code == 2
    assert out == ""
    assert err.startswith("usage: python -m bot")
    assert "invalid choice: 'frobnicate'" in err
    assert "Traceback" not in err


def test_cli_backup_without_path_is_a_usage_error(cli: Run) -> None:
    code, out, err = run_in_process("backup", capsys=cli[0], monkeypatch=cli[1])
    assert code == 2
    assert out == ""
    assert err.startswith("usage: python -m bot backup")
    assert "required: PATH" in err
    assert "Traceback" not in err
