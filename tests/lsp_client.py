"""A minimal LSP client for the tests: starts `carepolicy lsp` and speaks JSON-RPC over its stdio.

Deliberately independent of pygls (the server's library), so the tests see the wire as an editor
does: Content-Length framed JSON messages, requests answered by id, notifications pushed.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

TIMEOUT = 30.0


class LspClient:
    def __init__(self, cwd: Path, *options: str) -> None:
        self.log = (cwd / "lsp-stderr.log").open("wb")  # the server's own log, for a failing test
        self.process = subprocess.Popen(
            [_carepolicy(), "lsp", *options], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, cwd=cwd
        )
        self.next_id = 0
        self.responses: dict[int, queue.Queue[dict[str, Any]]] = {}
        self.notifications: queue.Queue[dict[str, Any]] = queue.Queue()
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            headers: dict[str, str] = {}
            while True:
                line = stream.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                key, _, value = line.decode("ascii").partition(":")
                headers[key.strip().lower()] = value.strip()
            body = json.loads(stream.read(int(headers["content-length"])))
            if "id" in body and "method" not in body:
                with self.lock:
                    box = self.responses.setdefault(body["id"], queue.Queue())
                box.put(body)
            elif "method" in body and "id" in body:  # a request from the server: answer null
                self._send({"jsonrpc": "2.0", "id": body["id"], "result": None})
            else:
                self.notifications.put(body)

    def _send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode("utf-8")
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(b"Content-Length: %d\r\n\r\n" % len(data) + data)
        stdin.flush()

    def request(self, method: str, params: dict[str, Any]) -> Any:
        reply = self.reply(method, params)
        assert "error" not in reply, reply["error"]
        return reply["result"]

    def reply(self, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        """The whole response to a request: its `result`, or its `error`. `params` None leaves the
        member out (JSON-RPC allows it)."""
        self.next_id += 1
        ident = self.next_id
        with self.lock:
            box = self.responses.setdefault(ident, queue.Queue())
        self._send({"jsonrpc": "2.0", "id": ident, "method": method, **_params(params)})
        return box.get(timeout=TIMEOUT)

    def notify(self, method: str, params: dict[str, Any] | None) -> None:
        self._send({"jsonrpc": "2.0", "method": method, **_params(params)})

    def published_for(self, uri: str) -> dict[str, Any]:
        """The params of the next `publishDiagnostics` for `uri` (other notifications are dropped)."""
        while True:
            message = self.notifications.get(timeout=TIMEOUT)
            if message["method"] == "textDocument/publishDiagnostics" and message["params"]["uri"] == uri:
                return dict(message["params"])

    def diagnostics_for(self, uri: str) -> list[dict[str, Any]]:
        """The next diagnostics published for `uri` (other notifications are dropped)."""
        return list(self.published_for(uri)["diagnostics"])

    def close(self) -> None:
        try:
            self.request("shutdown", {})
            self.notify("exit", {})
            self.process.wait(timeout=10)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            self.log.close()


def _params(params: dict[str, Any] | None) -> dict[str, Any]:
    return {} if params is None else {"params": params}


def _carepolicy() -> str:
    return str(Path(sys.executable).parent / "carepolicy")


def copy_of_policies(tmp_path: Path) -> Path:
    """The shipped policy folder copied under `tmp_path` (without its cases and examples): a folder
    the tests may change."""
    import shutil

    target = tmp_path / "policies"
    root = Path(__file__).resolve().parent.parent
    shutil.copytree(root / "policies", target, ignore=shutil.ignore_patterns("tests", "examples", "__*"))
    return target


def initialised(tmp_path: Path) -> tuple[LspClient, dict[str, Any]]:
    """A server started in `tmp_path`, past `initialize` and `initialized`, and the capabilities it gave."""
    lsp = LspClient(tmp_path)
    result = lsp.request("initialize", {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}})
    lsp.notify("initialized", {})
    return lsp, result["capabilities"]


def told_before_a_request(client: LspClient, tmp_path: Path) -> list[dict[str, Any]]:
    """Every notification the server sent before answering one more request: it reads in order, so
    whatever it said about the messages before was queued before this answer was read."""
    never_opened = {"textDocument": {"uri": (tmp_path / "x.policy").as_uri()}}
    assert client.request("textDocument/documentSymbol", never_opened) == []
    told: list[dict[str, Any]] = []
    while True:
        try:
            told.append(client.notifications.get_nowait())
        except queue.Empty:
            return told
