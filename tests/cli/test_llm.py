"""``gradebot llm check``: the figures, the verdict saved for start-up, the exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from tests.llm import conftest as llm
from tests.llm.fake_openai import FakeOpenAI
from tests.llm.test_llm_guards import _sloppy

# the LLM tests' fake OpenAI-compatible server (one per session)
fake_server = llm.fake_server
fake_llm = llm.fake_llm


def _cli(monkeypatch, tmp_path: Path, fake: FakeOpenAI, *args: str):
    from typer.testing import CliRunner

    from bot.cli import app as cli

    monkeypatch.chdir(tmp_path)  # no stray .env
    for k, v in {"OPENAI_BASE_URL": fake.url, "OPENAI_API_KEY": "sk-test",
                 "GRADEBOT_LLM_MODEL": "fake-model", "GRADEBOT_LLM_TIMEOUT": "5",
                 "GRADEBOT_LLM_CHECK_FILE": str(tmp_path / "check.json"),
                 "DATABASE_URL": f"sqlite:///{tmp_path / 'g.db'}"}.items():
        monkeypatch.setenv(k, v)
    return CliRunner().invoke(cli.app, ["llm", "check", *args])


def test_gradebot_llm_check_prints_figures_and_fails_a_sloppy_model(monkeypatch, tmp_path,
                                                                    fake_llm):
    fake_llm.respond_with(_sloppy)
    result = _cli(monkeypatch, tmp_path, fake_llm, "--suite", "eval_holdout", "--workers", "4")
    assert result.exit_code == 1
    out = " ".join(result.output.split())
    assert "fake-model at " in out
    assert "160 replies" in out
    assert "correct " in out and "wrong " in out and "refused " in out  # noqa: PT018
    assert "latency per model call: median" in out
    assert "NOT PASSED" in out
    assert "✗" in out  # each wrong reply is listed, with its latency
    saved = json.loads((tmp_path / "check.json").read_text())
    assert [v["passed"] for v in saved.values()] == [False]


def test_gradebot_llm_check_without_a_model_says_so(monkeypatch, tmp_path, fake_llm):
    monkeypatch.setenv("GRADEBOT_LLM_ENABLED", "false")
    result = _cli(monkeypatch, tmp_path, fake_llm)
    assert result.exit_code == 2
    assert "No model configured" in result.output
