"""`carepolicy.spark.decide` over Spark Connect: the same decisions, byte for byte, as in process.

`SparkSession.builder.remote("local[2]")` starts a Spark Connect server on this machine and
talks to it over gRPC, as a client of a Connect cluster (Databricks, a Connect server) does, so
`decide` is shown to use only the DataFrame API. SPARK_LOCAL_IP keeps the server on 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator

import pytest
from pyspark.sql import SparkSession

from tests.pipeline_data import dumps, mixed_bundles
from tests.test_spark import decided_rows_equal_in_process

BUNDLES = [b for b in mixed_bundles(12, seed=41) if "id" in b]


@pytest.fixture(scope="module")
def connect() -> Iterator[SparkSession]:
    assert shutil.which("java"), "Spark needs Java 17+ on PATH (.ci/run installs openjdk-17-jre-headless)"
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    session = SparkSession.builder.remote("local[2]").appName("carepolicy-connect-test").getOrCreate()
    yield session
    session.stop()


def test_a_spark_connect_session_decides_like_the_engine_in_process(connect: SparkSession) -> None:
    assert type(connect).__module__.startswith("pyspark.sql.connect"), "not a Spark Connect session"
    frame = connect.createDataFrame([(dumps(b),) for b in BUNDLES], "bundle string")
    assert len(decided_rows_equal_in_process(frame, BUNDLES)) == len(BUNDLES)
