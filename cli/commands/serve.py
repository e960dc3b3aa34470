"""`carepolicy serve`: the HTTP service (carepolicy/service/), on uvicorn with one worker per core."""

from __future__ import annotations

import dataclasses
import math
import os
import signal
import tempfile
from pathlib import Path
from types import FrameType

import click

from ..common import fail, prepare
from .evaluate import FEE_HELP, POLICIES_HELP, SWITCH_HELP

_EXTRA_HELP = "install the service's extra: pip install 'carepolicy[serve]'"


def _seconds(ctx: click.Context, param: click.Parameter, value: float) -> float:
    """A timeout that is a number: `nan` passes FloatRange (no comparison with it is true)."""
    if math.isnan(value):
        raise click.BadParameter(f"{value} is not a number of seconds", ctx=ctx, param=param)
    return value


def _cannot_listen(host: str, port: int) -> str | None:
    """Why the service cannot listen at host:port, found before it starts, or None.

    uvicorn reports a port in use, an address not of this machine or a host name that does not
    resolve with its own log line (`ERROR: [Errno 98] ...`) and exit status 3, which `carepolicy`
    does not document; found here, it is a usage error like any other (exit 2). The probe binds as
    uvicorn does (SO_REUSEADDR), so a port left in TIME_WAIT is not refused; the port can still be
    taken between the probe and uvicorn's bind, which uvicorn then reports as before."""
    import socket

    try:
        family, kind, protocol, _name, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except (socket.gaierror, UnicodeError) as error:
        return f"`{host}` is not an address or a host name that resolves ({error})"
    with socket.socket(family, kind, protocol) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            return f"cannot listen on {host}:{port}: {(error.strerror or str(error)).lower()}"
    return None


def _grace(shutdown_timeout: int | None, read_timeout: float, request_timeout: float) -> int | None:
    """The seconds a stop (SIGTERM, SIGINT) waits for the answers in flight, or None: for ever.

    uvicorn waits for ever by default, so one client that stops reading its answer (a stalled
    pipeline, a half-open connection) kept the service from stopping until that client went: a
    second SIGTERM did not help, and a deployment waited for its SIGKILL. By default the wait is the
    longest a request's work may take (its body, then its records read, decided until the request
    timeout, and those left read for their error records), so an answer being read is not cut."""
    if shutdown_timeout is not None:
        return shutdown_timeout
    longest = read_timeout + 2 * request_timeout
    return None if math.isinf(longest) else math.ceil(longest)


def _stopped(_signum: int, _frame: FrameType | None) -> None:
    """A SIGTERM the service has already stopped for (uvicorn raises it again once stopped): a stop
    asked for and carried out, so exit status 0, as with N workers and on SIGINT."""
    raise SystemExit(0)


def _failure_file() -> str | None:
    """An empty file a worker that does not serve writes its reason to, or None if none can be made
    (the worker's log still says why)."""
    try:
        handle, path = tempfile.mkstemp(prefix="carepolicy-serve-", suffix=".failure")
    except OSError:
        return None
    os.close(handle)
    return path


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on; 0.0.0.0 for all.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535), help="TCP port.")
@click.option("--workers", type=click.IntRange(1, 256), metavar="N",
              help="Worker processes, each with its own copy of the policy set  [default: one per core]")
@click.option("--policies", "policies_dir", metavar="DIR", help=POLICIES_HELP)
@click.option("--switch", "switches", multiple=True, metavar="NAME=OPTION", help=SWITCH_HELP)
@click.option("--fee-schedule", metavar="CSV", help=FEE_HELP)
@click.option("--explain/--no-explain", default=True, show_default=True, help="Include the trace in each decision.")
@click.option("--max-body", default=8 * 1024 * 1024, show_default=True, type=click.IntRange(1), metavar="BYTES",
              help="Largest request body; a larger one is answered 413.")
@click.option("--max-depth", default=32, show_default=True, type=click.IntRange(4), metavar="LEVELS",
              help="Deepest JSON nesting; a deeper JSON document is answered 413, a deeper JSON Lines line is "
                   "that record's error record.")
@click.option("--read-timeout", default=10.0, show_default=True, type=click.FloatRange(0.1), metavar="SECONDS",
              callback=_seconds, help="Time to receive a body; a slower one is answered 408.")
@click.option("--request-timeout", default=30.0, show_default=True, type=click.FloatRange(0.1), metavar="SECONDS",
              callback=_seconds, help="Time to decide a request's bundles; a bundle not reached within it is "
                                      "answered with a service/timeout error record.")
@click.option("--max-spool", default=1024**3, show_default=True, type=click.IntRange(1), metavar="BYTES",
              help="Largest answer to an HTTP/1.0 request, which is sent whole and so written to a temporary "
                   "file first; a larger one is answered 507, and one that does not fit with the HTTP/1.0 answers "
                   "a worker is sending at once 503. (HTTP/1.1 answers are streamed: no limit.)")
@click.option("--shutdown-timeout", type=click.IntRange(0), metavar="SECONDS",
              help="On SIGTERM or SIGINT, the time given to the answers in flight before they are cut off "
                   "(the service takes no new connection meanwhile)  [default: --read-timeout plus twice "
                   "--request-timeout, 70]")
def serve(
    host: str,
    port: int,
    workers: int | None,
    policies_dir: str | None,
    switches: tuple[str, ...],
    fee_schedule: str | None,
    explain: bool,
    max_body: int,
    max_depth: int,
    read_timeout: float,
    request_timeout: float,
    max_spool: int,
    shutdown_timeout: int | None,
) -> None:
    """Serve decisions over HTTP (needs the `serve` extra: pip install 'carepolicy[serve]').

    POST /v1/decisions takes one bundle (Content-Type: application/json) or many, one per line
    (application/x-ndjson), and answers with exactly the lines `evaluate --format jsonl` writes,
    one per record, sent as they are decided: 200 when every record is a valid bundle, 422 when
    one or more are not (their lines are error records with the CLI's diagnostics), 413 for a
    body over --max-body or a JSON document over --max-depth. An HTTP/1.0 answer, which cannot be
    streamed, is sent whole, written to a temporary file first: 507 past --max-spool.
    GET /v1/health, GET /v1/policy-set (hash, engine version, switches and defaults) and
    GET /v1/openapi.json describe the service. Every response has the header
    x-carepolicy-policy-set-hash. The policy set is checked before the service starts: errors
    end the command with exit status 2, as in `evaluate`, and so does a --host/--port it cannot
    listen on (in use, not an address of this machine), or policy files changed since it started,
    which a worker it starts later finds (policy/changed). SIGTERM or SIGINT stops it: the answers
    in flight are finished (within --shutdown-timeout), then it exits with status 0.

    \b
    Examples:
      carepolicy serve                                  # 127.0.0.1:8080, one worker per core
      carepolicy serve --host 0.0.0.0 --port 9000 --workers 4 --no-explain
      curl -s -H 'content-type: application/json' --data-binary @bundle.json localhost:8080/v1/decisions
    """
    try:
        import uvicorn

        from carepolicy.service.app import create_app
        from carepolicy.service.limits import CONFIG_VARIABLE, ServiceConfig
        from carepolicy.service.workers import app_from_environment
    except ImportError as error:
        missing = f"`carepolicy serve` needs `{error.name}`, which is not installed"
        fail("usage/missing-extra", missing, help=_EXTRA_HELP)
    from carepolicy.evaluator import Evaluator

    setup = prepare(policies_dir, switches, fee_schedule, trace=explain)  # errors end here, with exit 2
    problem = _cannot_listen(host, port)
    if problem is not None:
        fail("usage/listen", problem, help="choose another --port (or stop what listens on it), or a --host of this "
                                           "machine: 127.0.0.1 for this machine only, 0.0.0.0 for every address")
    fees = setup.fee_schedule.digest if setup.fee_schedule is not None else None
    config = ServiceConfig(policies_dir, dict(setup.switches), fee_schedule, explain, max_body, max_depth,
                           read_timeout, request_timeout, max_spool, setup.policies.policy_hash, fees)
    count = workers or _cores()
    grace = _grace(shutdown_timeout, read_timeout, request_timeout)
    click.echo(f"carepolicy serve: policy set {setup.policies.policy_hash}, {count} worker(s), "
               f"http://{host}:{port}/v1/openapi.json", err=True)
    if count == 1:  # the policy set already loaded serves; no second load
        app = create_app(Evaluator(setup), config)
        # uvicorn, once stopped, raises again the signal that stopped it, under the handler it found:
        # the default one made a SIGTERM kill the process (status -15) where N workers exit 0
        previous = signal.signal(signal.SIGTERM, _stopped)
        try:
            uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=grace)
        finally:
            signal.signal(signal.SIGTERM, previous)
        return
    # a worker loads the files again: one that finds them changed does not serve, stops the service
    # (carepolicy/service/workers.py) and says why in this file, which uvicorn's status does not say
    failure = _failure_file()
    try:
        os.environ[CONFIG_VARIABLE] = dataclasses.replace(config, failure_file=failure).to_environment()
        uvicorn.run(f"{app_from_environment.__module__}:app_from_environment", factory=True, host=host, port=port,
                    workers=count, log_level="warning", timeout_graceful_shutdown=grace)
        reason = Path(failure).read_text(encoding="utf-8").strip() if failure is not None else ""
    finally:
        if failure is not None:
            os.unlink(failure)
    if reason:
        fail("policy/changed", f"the service stopped: {reason}",
             help="start the service again to serve what the files now hold (its workers load them when they start)")
