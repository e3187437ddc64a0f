from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.settings import describe_errors, load_settings

ROOT = Path(__file__).resolve().parent.parent


def test_settings_reads_fixed_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "tok-" + "x" * 20)
    monkeypatch.setenv("LLM_MODEL", "gpt-test")
    monkeypatch.setenv("OWNER_IDS", "1, 2,3")
    monkeypatch.setenv("DEV_GUILD_ID", "42")
    monkeypatch.setenv("LLM_BASE_URL", "http://127.0.0.1:9/v1/")
    settings = load_settings()
    assert settings.owner_ids == frozenset({1, 2, 3})
    assert settings.dev_guild_id == 42
    assert settings.llm_base_url == "http://127.0.0.1:9/v1"
    assert settings.llm_api_key.get_secret_value() == ""
    assert str(settings.database_path) == "data/switchboard.db"
    assert "x" * 20 not in repr(settings)


def test_settings_reads_dotenv_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("DISCORD_TOKEN=abc123456789\nLLM_MODEL=m1\nOWNER_IDS=\n")
    settings = load_settings()
    assert settings.llm_model == "m1"
    assert settings.owner_ids == frozenset()


def test_settings_missing_required_lists_each_problem() -> None:
    with pytest.raises(ValidationError) as caught:
        load_settings()
    lines = describe_errors(caught.value)
    assert len(lines) == 2
    assert lines[0].startswith("DISCORD_TOKEN is missing")
    assert lines[1].startswith("LLM_MODEL is missing")


def test_settings_invalid_values_name_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "secret-token-value")
    monkeypatch.setenv("LLM_MODEL", "m")
    monkeypatch.setenv("OWNER_IDS", "12,abc")
    monkeypatch.setenv("LLM_BASE_URL", "ftp://nope")
    with pytest.raises(ValidationError) as caught:
        load_settings()
    text = "\n".join(describe_errors(caught.value))
    assert "OWNER_IDS is invalid" in text
    assert "LLM_BASE_URL is invalid" in text
    assert "secret-token-value" not in text


def test_settings_start_without_tokens_exits_2_without_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DISCORD_TOKEN", "LLM_MODEL"}}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "DISCORD_TOKEN is missing" in proc.stderr
    assert "LLM_MODEL is missing" in proc.stderr
