"""Bad input at the scoring boundary: the real scoring server (over HTTP) and batch scoring refuse the same
rows with the same words, and no request or file ends in a 500 or a traceback."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import score_batch
from {{ cookiecutter.package_name }}.data import FEATURE_NAMES, NUMERIC_FEATURE_NAMES
from {{ cookiecutter.package_name }}.handoff import Candidate
from {{ cookiecutter.package_name }}.payload import to_scoring_server
from {{ cookiecutter.package_name }}.prep import PreparedData
from {{ cookiecutter.package_name }}.request_guard import MAX_BODY_BYTES, MAX_JSON_DEPTH

# Numeric columns: the rules below are about numbers (a category's rules are in test_model_input_properties).
FIRST, LAST = NUMERIC_FEATURE_NAMES[0], NUMERIC_FEATURE_NAMES[-1]
SRC = Path(__file__).resolve().parents[1] / "src"

# Each bad table: how it is made from good rows, and the column the refusal must name.
BAD_ROWS: dict[str, tuple[Callable[[pd.DataFrame], pd.DataFrame], str]] = {
    "an extra column": (lambda rows: rows.assign(extra=1.0), "extra"),
    "a missing column": (lambda rows: rows.drop(columns=LAST), LAST),
    "numbers sent as strings": (lambda rows: rows.assign(**{FIRST: rows[FIRST].astype(str)}), FIRST),
    "booleans": (lambda rows: rows.assign(**{FIRST: True}), FIRST),
    "an implausible value (-500)": (lambda rows: rows.assign(**{FIRST: -500.0}), FIRST),
    "an infinite value": (lambda rows: rows.assign(**{LAST: np.inf}), LAST),
    "a value beyond float32 (1e39)": (lambda rows: rows.assign(**{LAST: 1e39}), LAST),
    "a missing value": (lambda rows: rows.assign(**{LAST: [None, *rows[LAST].iloc[1:]]}), LAST),
}


@pytest.fixture(scope="module")
def candidate(good_candidate: Candidate) -> Candidate:
    """The model both paths score with (conftest's, trained once per session)."""
    return good_candidate


@pytest.fixture(scope="module")
def good_rows(tiny_prepared: PreparedData) -> pd.DataFrame:
    return pd.read_parquet(tiny_prepared.test)[FEATURE_NAMES].head(3)


@pytest.fixture(scope="module")
def server(candidate: Candidate, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The project's `serve` (MLflow's scoring app behind the request guard) on a free loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    command = [sys.executable, "-m", "{{ cookiecutter.package_name }}.serve", "--model-uri", candidate.model_uri,
               "--port", str(port)]  # fmt: skip
    with log.open("w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while _get(f"{url}/ping") != 200:
            assert process.poll() is None, f"serve exited: {log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"serve did not answer /ping: {log.read_text()[-3000:]}"
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except (urllib.error.URLError, OSError):
        return 0


def post(url: str, body: bytes, content_type: str = "application/json") -> tuple[int, str]:
    request = urllib.request.Request(
        f"{url}/invocations", data=body, headers={"Content-Type": content_type}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        answer = json.loads(err.read())  # every refusal is MLflow's JSON error shape
        return err.code, answer["message"]


def batch_refusal(model_uri: str, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Run score_batch's command line on `data`; it must fail with one message and no traceback."""
    code = score_batch.main(
        ["--model-uri", model_uri, "--input", str(data), "--output", str(tmp_path / "o.parquet")]
    )
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("ERROR: ") and "Traceback" not in err, err
    return err


def test_good_rows_score_the_same_online_and_in_batch(
    server: str, candidate: Candidate, good_rows: pd.DataFrame
) -> None:
    status, body = post(server, json.dumps(to_scoring_server(good_rows)).encode())
    assert status == 200, body
    batch = score_batch.score(candidate.model_uri, good_rows)
    assert json.loads(body)["predictions"] == pytest.approx(batch["prediction"].tolist())


@pytest.mark.parametrize("case", BAD_ROWS)
def test_bad_rows_are_refused_online_with_400_and_in_batch_with_the_same_words(
    case: str, server: str, candidate: Candidate, good_rows: pd.DataFrame, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    make, column = BAD_ROWS[case]
    rows = make(good_rows.reset_index(drop=True))
    batch_file = tmp_path / "bad.parquet"
    rows.to_parquet(batch_file, index=False)

    status, message = post(server, json.dumps(to_scoring_server(rows)).encode())
    batch_message = batch_refusal(candidate.model_uri, batch_file, tmp_path, capsys)

    assert status == 400 and f"column {column!r}" in message, (status, message)
    # The schema's words, from "data does not match the schema" on, are the same on both paths.
    rules = batch_message[batch_message.index("data does not match the schema") :].strip()
    assert f"column {column!r}" in rules and rules in message


def test_records_format_is_refused_the_same_way(server: str, good_rows: pd.DataFrame) -> None:
    status, message = post(
        server, json.dumps(to_scoring_server(good_rows.assign(extra=1), "dataframe_records")).encode()
    )
    assert status == 400 and "column 'extra': not in the schema" in message, message


def _split_body(cell: str) -> bytes:
    body = json.dumps({"dataframe_split": {"columns": [FIRST], "data": [["CELL"]]}})
    return body.replace('"CELL"', cell).encode()


# Bodies MLflow's own parser answers with 500; the guard in front of it answers 400/413 and says why.
BAD_BODIES: dict[str, tuple[bytes, str, int, str]] = {
    "JSON nested 100,000 deep": (b"[" * 100_000 + b"]" * 100_000, "application/json", 400, "nested deeper"),
    "JSON nested past the limit": (_split_body("[" * MAX_JSON_DEPTH + "1" + "]" * MAX_JSON_DEPTH), "application/json", 400, "levels deep"),
    "an integer of 5,000 digits": (_split_body("9" * 5000), "application/json", 400, "not valid JSON"),
    "a body that is not UTF-8": (_split_body('"\xe9"').replace(b"\xc3\xa9", b"\xe9"), "application/json", 400, "not UTF-8"),
    "a CSV body that is not UTF-8": (f"{FIRST}\n\xe9\n".encode("latin-1"), "text/csv", 400, "not UTF-8"),
    "malformed JSON": (b'{"dataframe_split": ', "application/json", 400, "not valid JSON"),
}  # fmt: skip


@pytest.mark.parametrize("case", BAD_BODIES)
def test_bodies_mlflow_would_answer_with_500_are_refused_with_a_reason(case: str, server: str) -> None:
    body, content_type, expected_status, words = BAD_BODIES[case]
    status, message = post(server, body, content_type)
    assert status == expected_status and words in message, (status, message)


# Files batch scoring must refuse with one line about the file (never a parser traceback).
BAD_FILES: dict[str, tuple[str, bytes, str]] = {
    "a CSV that is not UTF-8": ("rows.csv", f"{FIRST}\n\xe9\n".encode("latin-1"), "not UTF-8 text (byte 0xe9"),
    "an empty CSV": ("rows.csv", b"", "empty, expected a header row"),
    "a CSV with a header and no rows": ("rows.csv", ",".join(FEATURE_NAMES).encode() + b"\n", "has no rows"),
    "a file that is not Parquet": ("rows.parquet", b"name,value\n1,2\n", "not a readable Parquet file"),
}  # fmt: skip


@pytest.mark.parametrize("case", BAD_FILES)
def test_batch_scoring_says_what_is_wrong_with_the_file(
    case: str, candidate: Candidate, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name, content, words = BAD_FILES[case]
    data = tmp_path / name
    data.write_bytes(content)
    message = batch_refusal(candidate.model_uri, data, tmp_path, capsys)
    assert words in message and name in message, message


def test_a_body_over_the_size_limit_is_refused_before_it_is_read(server: str) -> None:
    """The guard answers 413 from the Content-Length header alone: the body is never sent."""
    connection = http.client.HTTPConnection(server.removeprefix("http://"), timeout=30)
    connection.putrequest("POST", "/invocations")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(MAX_BODY_BYTES + 1))
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 413
    assert f"limit is {MAX_BODY_BYTES}" in json.loads(response.read())["message"]
    connection.close()
