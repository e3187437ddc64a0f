"""The configuration file: providers, model references and one plain line per problem."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config_file import load_directory
from bot.errors import ConfigurationError
from bot.llm.providers import DEFAULT_PROVIDER, ModelDirectory
from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent.parent

EXAMPLE = """
[providers.deepseek]
base_url = "https://api.deepseek.com/v1/"
api_key_env = "DEEPSEEK_API_KEY"
models = ["deepseek-v4-flash", "deepseek-v4-pro"]

[providers.openrouter]
base_url = "https://openrouter.ai/api/v1"
api_key_env = "OPENROUTER_API_KEY"

[providers.claude]
base_url = "https://api.anthropic.com/v1"
api_key_env = "ANTHROPIC_API_KEY"
protocol = "anthropic"

[models."deepseek/deepseek-v4-flash"]
params = { reasoning_effort = "high", thinking = { type = "enabled" } }
fallback = ["openrouter/deepseek/deepseek-v4-flash"]
context_tokens = 128000

[models."qwen3:8b"]
think_tags = false
vision = false
"""
KEYS = {
    "DEEPSEEK_API_KEY": "sk-deep",
    "OPENROUTER_API_KEY": "sk-or",
    "ANTHROPIC_API_KEY": "sk-ant",
}


def settings(tmp_path: Path, text: str | None, **extra: object) -> Settings:
    path = tmp_path / "switchboard.toml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    return Settings(
        discord_token="t" * 30,  # type: ignore[arg-type]
        llm_model="gpt-4o-mini",
        llm_api_key="sk-default",  # type: ignore[arg-type]
        config_file=path,
        **extra,  # type: ignore[arg-type]
    )


def load(tmp_path: Path, text: str | None, env: dict[str, str] | None = None) -> ModelDirectory:
    return load_directory(settings(tmp_path, text), KEYS if env is None else env)


def problems(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigurationError) as caught:
        load(tmp_path, text, env)
    return caught.value.problems


def test_config_file_absent_means_the_llm_settings_are_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no switchboard.toml here, and CONFIG_FILE not set
    plain = Settings(discord_token="t" * 30, llm_model="gpt-4o-mini", llm_api_key="sk-default")  # type: ignore[arg-type]
    directory = load_directory(plain, {})
    assert list(directory.providers) == [DEFAULT_PROVIDER]
    resolved = directory.resolve("gpt-4o-mini")
    assert (resolved.provider.api_key, resolved.model, resolved.ref) == (
        "sk-default",
        "gpt-4o-mini",
        "gpt-4o-mini",
    )


def test_config_file_providers_models_and_references(tmp_path: Path) -> None:
    directory = load(tmp_path, EXAMPLE)
    deepseek = directory.resolve("deepseek/deepseek-v4-flash")
    assert deepseek.provider.base_url == "https://api.deepseek.com/v1"
    assert deepseek.provider.api_key == "sk-deep"
    assert deepseek.provider.models == ("deepseek-v4-flash", "deepseek-v4-pro")
    assert deepseek.options.params == {"reasoning_effort": "high", "thinking": {"type": "enabled"}}
    assert deepseek.config.fallback == ("openrouter/deepseek/deepseek-v4-flash",)
    assert deepseek.config.context_tokens == 128000
    # NAME/model with a configured NAME goes to that provider, keeping the rest whole…
    via_router = directory.resolve("openrouter/deepseek/deepseek-v4-flash")
    assert (via_router.provider.name, via_router.model) == (
        "openrouter",
        "deepseek/deepseek-v4-flash",
    )
    # …anything else is a model of `default`, so OpenRouter-style ids still work there.
    assert directory.resolve("openai/gpt-4o-mini").provider.name == DEFAULT_PROVIDER
    assert directory.resolve("openai/gpt-4o-mini").model == "openai/gpt-4o-mini"
    assert directory.resolve("claude/claude-sonnet-4-5").provider.protocol == "anthropic"
    assert directory.resolve("qwen3:8b").options.think_tags is False
    assert directory.canonical("default/gpt-4o-mini") == "gpt-4o-mini"


def test_config_file_every_problem_named_with_file_table_and_key(tmp_path: Path) -> None:
    text = """
bogus = 1

[providers.deepseek]
base_url = "api.deepseek.com"
api_key_env = "DEEPSEEK_API_KEY"
protocl = "openai"

[providers.gemini]
base_url = "https://generativelanguage.googleapis.com/v1beta/openai"
api_key_env = "GEMINI_API_KEY"
protocol = "grpc"

[providers."bad name"]
base_url = "https://example.invalid/v1"

[providers.default]
base_url = "https://example.invalid/v1"

[models."deepseek/deepseek-v4-flash"]
fallback = ["openruter/deepseek/deepseek-v4-flash", "deepseek/deepseek-v9"]
params = { model = "other", stream = false }
context_tokens = 12
colour = "blue"
"""
    found = problems(tmp_path, text, {"DEEPSEEK_API_KEY": "k"})
    where = str(tmp_path / "switchboard.toml")
    assert all(line.startswith(f"{where}: ") for line in found)
    expected = [
        "[bogus] is not a known table",
        "[providers.deepseek] protocl: is not a provider key",
        "[providers.deepseek] base_url: is missing or not an http(s) URL",
        "[providers.gemini] protocol: must be one of",
        "[providers.gemini] api_key_env: GEMINI_API_KEY is not set",
        "[providers.bad name] has an invalid name",
        "[providers.default] is reserved for the LLM_* settings",
        '[models."deepseek/deepseek-v4-flash"] colour: is not a model key',
        "params: can't set 'model'",
        "params: can't set 'stream'",
        "context_tokens: must be a whole number of at least 1000",
    ]
    for fragment in expected:
        assert sum(fragment in line for line in found) == 1, (fragment, found)
    assert len(found) == len(expected)


def test_config_file_fallback_to_an_unknown_reference(tmp_path: Path) -> None:
    text = EXAMPLE.replace(
        'fallback = ["openrouter/deepseek/deepseek-v4-flash"]',
        'fallback = ["openruter/deepseek/deepseek-v4-flash", "deepseek/deepseek-v9", "gpt-4o"]',
    )
    found = problems(tmp_path, text)
    assert len(found) == 2
    assert "'openruter/deepseek/deepseek-v4-flash' is not a known model reference" in found[0]
    assert "'deepseek/deepseek-v9' is not a known model reference" in found[1]


def test_config_file_bad_toml_is_one_line(tmp_path: Path) -> None:
    found = problems(tmp_path, "[providers.x\nbase_url = 1")
    assert len(found) == 1 and "is not valid TOML" in found[0]


def test_config_file_named_but_missing(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_directory(settings(tmp_path / "nope", None), {})
    assert "does not exist" in caught.value.problems[0]


def test_config_file_keys_come_from_dotenv_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DEEPSEEK_API_KEY", raising=False)
    (tmp_path / ".env").write_text("DEEPSEEK_API_KEY=sk-from-dotenv\n")
    text = (
        '[providers.deepseek]\nbase_url = "https://api.deepseek.com/v1"\n'
        'api_key_env = "DEEPSEEK_API_KEY"\n'
    )
    directory = load_directory(settings(tmp_path, text))
    assert directory.providers["deepseek"].api_key == "sk-from-dotenv"


def test_config_file_problems_stop_start_up_with_plain_lines(tmp_path: Path) -> None:
    (tmp_path / "switchboard.toml").write_text(
        '[providers.deepseek]\nbase_url = "https://api.deepseek.com/v1"\n'
        'api_key_env = "DEEPSEEK_API_KEY"\n'
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "DISCORD_TOKEN": "t" * 30,
        "LLM_MODEL": "m",
        "DATABASE_PATH": str(tmp_path / "db.sqlite"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == [
        "Switchboard: switchboard.toml: [providers.deepseek] api_key_env: DEEPSEEK_API_KEY is "
        "not set — set it in the environment or .env"
    ]
    assert not (tmp_path / "db.sqlite").exists()
