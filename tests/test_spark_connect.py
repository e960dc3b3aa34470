"""`carepolicy.spark.decide` over Spark Connect: the same decisions, byte for byte, as in process.

A Spark Connect server is started on this machine (`local[2]`, on a free port of 127.0.0.1, so
that two runs of the suite at once do not collide on Connect's default port 15002) and the session
talks to it over gRPC at `sc://localhost:PORT`, as a client of a Connect cluster (Databricks, a
Connect server) does, so `decide` is shown to use only the DataFrame API.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
from collections.abc import Iterator

import pytest
from pyspark.sql.connect.session import SparkSession as RemoteSparkSession

from tests.pipeline_data import dumps, mixed_bundles
from tests.test_spark import decided_rows_equal_in_process

BUNDLES = [b for b in mixed_bundles(12, seed=41) if "id" in b]


@pytest.fixture(scope="module")
def connect() -> Iterator[RemoteSparkSession]:
    assert shutil.which("java"), "Spark needs Java 17+ on PATH (.ci/run installs openjdk-17-jre-headless)"
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    with socket.socket() as probe:  # a port free now; the server binds it right after
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    RemoteSparkSession._start_connect_server("local[2]", {"spark.connect.grpc.binding.port": str(port)})
    session = (
        RemoteSparkSession.builder.remote(f"sc://localhost:{port}").appName("carepolicy-connect-test").getOrCreate()
    )
    yield session
    session.stop()


def test_a_spark_connect_session_decides_like_the_engine_in_process(connect: RemoteSparkSession) -> None:
    assert type(connect).__module__.startswith("pyspark.sql.connect"), "not a Spark Connect session"
    frame = connect.createDataFrame([(dumps(b),) for b in BUNDLES], "bundle string")
    assert len(decided_rows_equal_in_process(frame, BUNDLES)) == len(BUNDLES)
