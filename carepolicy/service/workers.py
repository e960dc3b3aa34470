"""What each worker process of `carepolicy serve --workers N` loads, and when it refuses to serve.

uvicorn starts each worker by importing `app_from_environment`, which loads the policy set and the
fee schedule again from their files (a worker is a fresh process: nothing loaded by the command is
shared). They were read when the command started, checked, and announced (`policy set <hash>`); a
worker started later (uvicorn replaces one that dies, and 2 workers took 35 s to start on the
shared machine) read whatever the files held then. Measured: with the 2025 conversion factor
edited in the folder and one worker killed, its replacement answered 99490 at $61.71 while its
sibling answered $60.49, under one service, each answer with its own policy-set hash.

So a worker compares what it loaded with what the command loaded, and on any difference (or a
policy set that no longer loads) does not serve: it exits with uvicorn's startup-failure status,
which stops the service, and leaves the reason in the command's failure file for `serve` to report
(exit status 2). A service stops rather than answer one claim by two rule sets.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import NoReturn

from starlette.applications import Starlette

from carepolicy.engine import PolicyError
from carepolicy.evaluator import Evaluator, load

from .app import create_app
from .limits import ServiceConfig

STARTUP_FAILURE = 3  # uvicorn.config.STARTUP_FAILURE: the supervisor stops rather than start the worker again
_log = logging.getLogger("carepolicy.serve")


def app_from_environment() -> Starlette:
    """The uvicorn factory each worker process calls: settings from CAREPOLICY_SERVE_CONFIG."""
    config = ServiceConfig.from_environment()
    try:
        evaluator = load(config.policies, switches=config.switches, fee_schedule=config.fee_schedule,
                         trace=config.trace)
    except PolicyError as error:
        first = error.diagnostics[0] if error.diagnostics else None
        said = f" ({first.code}: {first.message})" if first is not None else ""
        _refuse(config, f"the policy set no longer loads{said}")
    changed = changed_since_start(evaluator, config)
    if changed is not None:
        _refuse(config, changed)
    return create_app(evaluator, config)


def changed_since_start(evaluator: Evaluator, config: ServiceConfig) -> str | None:
    """What differs between what this worker loaded and what the command loaded, or None."""
    if config.policy_set_hash is not None and evaluator.policy_set_hash != config.policy_set_hash:
        return (f"the policy set changed since the service started: it is now {evaluator.policy_set_hash}, "
                f"not {config.policy_set_hash}")
    fees = evaluator.setup.fee_schedule
    if config.fee_schedule_digest is not None and (fees is None or fees.digest != config.fee_schedule_digest):
        return "the fee schedule changed since the service started"
    return None


def _refuse(config: ServiceConfig, reason: str) -> NoReturn:
    _log.error("carepolicy serve: a worker does not serve: %s", reason)
    if config.failure_file is not None:
        Path(config.failure_file).write_text(reason + "\n", encoding="utf-8")
    sys.exit(STARTUP_FAILURE)
