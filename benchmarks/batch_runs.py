"""Running `carepolicy batch` in a subprocess and measuring it: wall clock, CPU, peak RSS.

Shared by bench_batch.py and bench_jobs.py, so that both measure a run the same way: `run` times
one command, samples the peak resident memory of it and its workers from /proc, and keeps its
user+sys CPU (and, for a command started through `wrapped`, the main process's own) in
CPU_SECONDS; `digest` checks an output and frees its pages; `load` is the load average printed
beside every figure, as the machine is shared.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path


def load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def _tree_rss_kb(pid: int) -> int:
    """Resident memory of `pid` and its descendants, in kB (Linux /proc)."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
            for task in Path(f"/proc/{current}/task").iterdir():
                stack.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, StopIteration, ValueError):
            continue
    return total


CPU_SECONDS: dict[str, float] = {}  # user+sys of the last run of each row (the process and its workers)
LAST_ERROR: list[str] = []  # the last line the last run wrote to stderr (why it failed, when it did)
PARENT_MARK = b"bench-parent-cpu="
# the command as the entry script runs it, and at its exit the CPU of this process alone (the
# workers of --jobs excluded): what the process that reads, hands out and keeps order costs
WRAPPED = (
    "import atexit, os, resource, sys\n"
    "def _cpu():\n"
    "    u = resource.getrusage(resource.RUSAGE_SELF)\n"
    f"    os.write(2, b'\\n{PARENT_MARK.decode()}' + repr(u.ru_utime + u.ru_stime).encode() + b'\\n')\n"
    "atexit.register(_cpu)\n"
    "sys.argv[0] = 'carepolicy'\n"
    "from carepolicy.cli.main import main\n"
    "main()\n"
)


def wrapped(program: str) -> list[str]:
    """`program` (a `carepolicy` entry script) run by the Python beside it, reporting its own CPU."""
    python = Path(program).parent / "python"
    # -P: not the current folder first on the path, where a checkout's `carepolicy/` would shadow
    # the top-level package of the install measured (as --compare ran from a checkout did)
    return [str(python), "-P", "-c", WRAPPED] if python.exists() else [program]


def digest(output: Path) -> str:
    """The output's SHA-256, and the file removed: an output kept while the next run writes its own
    made that run 8-25% slower on this virtual machine (its page cache grew into memory the host had
    not backed yet, 0.2 → 1.1 s of system time for 20,000 records), so every run writes into the same
    freed pages, and outputs are compared by their digests."""
    sha = hashlib.sha256()
    with output.open("rb") as file:
        while block := file.read(1 << 20):
            sha.update(block)
    output.unlink()
    return sha.hexdigest()


def run(command: list[str]) -> tuple[float, int, int]:
    """(seconds, peak tree RSS in kB, exit status) of one run; its user+sys CPU seconds, workers
    included (they are waited for), in CPU_SECONDS["last"]: less sensitive to load than the wall clock;
    that of the main process alone in CPU_SECONDS["parent"] (NaN when the command does not report it)."""
    os.sync()  # the last run's output written out first, not while this run goes
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        peak = max(peak, _tree_rss_kb(process.pid))
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    CPU_SECONDS["last"] = usage.ru_utime + usage.ru_stime
    err = process.stderr.read() if process.stderr else b""
    marks = [line for line in err.splitlines() if line.startswith(PARENT_MARK)]
    CPU_SECONDS["parent"] = float(marks[-1][len(PARENT_MARK):]) if marks else float("nan")
    if process.returncode not in (0, 2):
        sys.stderr.write(err.decode())
    text = err.decode(errors="replace")
    said = [line for line in text.splitlines() if line.strip() and not line.startswith("bench-")]
    LAST_ERROR[:] = said[-1:]
    return seconds, peak, process.returncode

