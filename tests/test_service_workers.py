"""A worker process of `serve --workers N` serves only what the command loaded and announced.

Each worker loads the policy files again when it starts, and uvicorn starts a new one whenever one
dies: with the files edited meanwhile, one service answered 99490 at $61.71 from one worker and
$60.49 from the other (measured in the s34 sweep). Now such a worker does not serve, the service
stops, and `serve` says why (policy/changed, exit 2).
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path
from typing import Any

import pytest
from carepolicy.cli.main import cli
from click.testing import CliRunner
from starlette.applications import Starlette

import carepolicy
from carepolicy.service import workers
from carepolicy.service.limits import CONFIG_VARIABLE, ServiceConfig

ROOT = Path(__file__).resolve().parent.parent
FEES = ROOT / "tests" / "fixtures" / "fees.csv"


@pytest.fixture(scope="module")
def shipped() -> carepolicy.Evaluator:
    return carepolicy.load(fee_schedule=FEES)


def _refusal(config: ServiceConfig, monkeypatch: pytest.MonkeyPatch) -> str:
    """The reason a worker gives in the failure file when it exits as a startup failure."""
    monkeypatch.setenv(CONFIG_VARIABLE, config.to_environment())
    with pytest.raises(SystemExit) as stop:
        workers.app_from_environment()
    assert stop.value.code == workers.STARTUP_FAILURE  # uvicorn's: its supervisor stops, not restarts it
    assert config.failure_file is not None
    return Path(config.failure_file).read_text(encoding="utf-8").strip()


def test_a_worker_serves_what_the_command_loaded(shipped: carepolicy.Evaluator, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    assert shipped.setup.fee_schedule is not None
    config = ServiceConfig(fee_schedule=str(FEES), policy_set_hash=shipped.policy_set_hash,
                           fee_schedule_digest=shipped.setup.fee_schedule.digest,
                           failure_file=str(tmp_path / "failure"))
    monkeypatch.setenv(CONFIG_VARIABLE, config.to_environment())
    assert isinstance(workers.app_from_environment(), Starlette)


def test_a_worker_that_finds_the_policy_files_changed_does_not_serve(
    shipped: carepolicy.Evaluator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", policies)
    fees = policies / "fees.policy"
    fees.write_text(fees.read_text(encoding="utf-8").replace("$32.3465", "$33.0000", 1), encoding="utf-8")
    config = ServiceConfig(policies=str(policies), policy_set_hash=shipped.policy_set_hash,
                           failure_file=str(tmp_path / "failure"))
    reason = _refusal(config, monkeypatch)
    assert reason.startswith("the policy set changed since the service started: it is now ")
    assert reason.endswith(f", not {shipped.policy_set_hash}")

    (policies / "ccm.policy").write_text("rule broken\n", encoding="utf-8")  # no longer loads at all
    assert _refusal(config, monkeypatch).startswith("the policy set no longer loads (")


def test_a_worker_that_finds_the_fee_schedule_changed_does_not_serve(
    shipped: carepolicy.Evaluator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = ServiceConfig(fee_schedule=str(FEES), policy_set_hash=shipped.policy_set_hash,
                           fee_schedule_digest="not its digest", failure_file=str(tmp_path / "failure"))
    assert _refusal(config, monkeypatch) == "the fee schedule changed since the service started"


def test_serve_reports_why_a_worker_did_not_serve(monkeypatch: pytest.MonkeyPatch) -> None:
    """uvicorn's supervisor stops when a worker fails to start, and `uvicorn.run` returns as after a
    SIGTERM: the command ended with status 0 and said nothing of why."""
    import uvicorn

    given: list[dict[str, Any]] = []

    def run(*args: Any, **kwargs: Any) -> None:  # as a worker that found the files changed
        config = ServiceConfig.from_environment()
        given.append({"config": config})
        assert config.policy_set_hash == carepolicy.load().policy_set_hash
        assert config.failure_file is not None
        Path(config.failure_file).write_text("the policy set changed since the service started\n", encoding="utf-8")

    monkeypatch.setattr(uvicorn, "run", run)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = CliRunner().invoke(cli, ["serve", "--workers", "2", "--port", str(port)])
    assert result.exit_code == 2, result.output
    assert ("carepolicy: error[policy/changed]: the service stopped: the policy set changed since the service "
            "started") in result.stderr
    (call,) = given
    assert not Path(call["config"].failure_file).exists()  # removed once read
