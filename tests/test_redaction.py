"""Keys echoed by a provider never reach an error message, a log line, stderr or the database."""

from __future__ import annotations

import base64
import logging
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, quote, quote_plus, urlparse

import pytest

from roleext import redaction
from roleext.backends import OpenAICompatBackend, OpenAISettings, SparkBackend, SparkSettings
from roleext.backends.spark import sign_url
from roleext.errors import BackendError, ContentRejectedError
from tests import fake_openai, fake_spark
from tests.fake_openai import FakeOpenAI
from tests.fake_spark import FakeSpark

ROOT = Path(__file__).resolve().parents[1]
HELLO = [{"role": "user", "content": "你好"}]


def every_form(value: str) -> list[str]:
    return [value, quote(value, safe=""), quote_plus(value)]


def assert_clean(text: str, *secrets: str) -> None:
    for secret in secrets:
        for form in every_form(secret):
            assert form not in text, f"{form!r} leaked in {text!r}"


@pytest.fixture
def spark() -> Iterator[FakeSpark]:
    server = FakeSpark(echo_credentials=True).start()
    yield server
    server.stop()


def test_the_signed_authorization_is_masked_in_every_form() -> None:
    key, secret = "k3y-for-redaction-test-0001", "s3cret-for-redaction-test-0001"
    redaction.register(key, secret)
    url = sign_url("wss://spark-api.xf-yun.com/v3.1/chat", key, secret)
    authorization = parse_qs(urlparse(url).query)["authorization"][0]
    text = (f"GET {url} failed; authorization {authorization} = {base64.b64decode(authorization).decode()}; "
            f"quoted {quote(authorization, safe='')} and {quote_plus(authorization)}; key {key} secret {secret}; "
            f"key alone in base64 {base64.b64encode(key.encode()).decode()}")
    redacted = redaction.redact(text)
    assert_clean(redacted, key, secret, authorization, base64.b64encode(key.encode()).decode())
    assert "GET wss://spark-api.xf-yun.com/v3.1/chat?authorization=***" in redacted


def test_any_bearer_token_and_text_without_keys_are_left_readable() -> None:
    assert redaction.redact("sent Bearer sk-unregistered-999") == "sent Bearer ***"
    assert redaction.redact("王勇7：你好 record 3 failed (code 10013)") == "王勇7：你好 record 3 failed (code 10013)"


def test_a_backend_error_redacts_its_own_message() -> None:
    redaction.register("another-key-0123456789")
    assert "another-key" not in str(BackendError("the provider said another-key-0123456789"))


def test_roleext_log_records_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    redaction.register("logged-key-0123456789")
    log = redaction.get_logger("roleext.test")
    with caplog.at_level(logging.WARNING):
        log.warning("call failed with %s", "logged-key-0123456789")
        try:
            raise ValueError("inside logged-key-0123456789")
        except ValueError:
            log.exception("boom")
    assert "logged-key" not in caplog.text and "***" in caplog.text


@pytest.mark.parametrize("transport", ["direct", "sdk"])
def test_spark_errors_that_quote_credentials_leak_nothing(spark: FakeSpark, transport: str) -> None:
    spark.error_for = lambda request: 10013
    backend = SparkBackend(SparkSettings(fake_spark.APP_ID, fake_spark.API_KEY, fake_spark.API_SECRET,
                                         url=spark.url, domain="lite", transport=transport))  # type: ignore[arg-type]
    with pytest.raises(ContentRejectedError) as caught:
        backend.complete(HELLO)
    assert spark.echoed and "***" in str(caught.value)
    assert_clean(str(caught.value), fake_spark.API_KEY, fake_spark.API_SECRET, *spark.echoed)


def test_openai_errors_that_quote_the_key_leak_nothing() -> None:
    server = FakeOpenAI(echo_credentials=True).start()
    try:
        for key in ("sk-the-callers-wrong-key-42", fake_openai.API_KEY):
            server.reply = lambda request: (400, {"error": {"message": "bad request"}})
            backend = OpenAICompatBackend(OpenAISettings(server.base_url, "m", key))
            with pytest.raises(BackendError) as caught:
                backend.complete(HELLO)
            assert "you sent Bearer ***" in str(caught.value)
            assert_clean(str(caught.value), key)
    finally:
        server.stop()


@pytest.mark.parametrize("code", [10013, 11200])
def test_summarize_with_spark_writes_no_credential_to_stderr_or_the_database(
        spark: FakeSpark, tmp_path: Path, sample_test: Path, code: int) -> None:
    spark.error_for = lambda request: code
    db = tmp_path / "leak.db"
    env = {**os.environ, "SPARK_APP_ID": fake_spark.APP_ID, "SPARK_API_KEY": fake_spark.API_KEY,
           "SPARK_API_SECRET": fake_spark.API_SECRET}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "roleext", "--db", str(db), *args], capture_output=True,
                              text=True, cwd=ROOT, env=env, check=False, timeout=120)

    assert run("import", str(sample_test)).returncode == 0
    result = run("summarize", "--split", "test", "--backend", "spark", "--spark-url", spark.url,
                 "--retries", "1", "--concurrency", "1")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert spark.echoed and "***" in result.stderr
    with sqlite3.connect(db) as conn:
        errors = [row[0] for row in conn.execute("select error from record_tasks where error is not null")]
    assert errors
    for text in [result.stdout, result.stderr, *errors]:
        assert_clean(text, fake_spark.API_KEY, fake_spark.API_SECRET, *spark.echoed)
