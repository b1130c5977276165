"""Backends against local fake servers: answers, every error class, deadlines, keys kept secret."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from roleext.backends import OpenAICompatBackend, OpenAISettings, SparkBackend, SparkSettings
from roleext.errors import (
    AuthError,
    BackendError,
    BackendTimeoutError,
    ContentRejectedError,
    InputTooLongError,
    RateLimitedError,
    RoleextError,
    TransientBackendError,
)
from tests import fake_openai, fake_spark
from tests.fake_openai import FakeOpenAI
from tests.fake_spark import FakeSpark

HELLO = [{"role": "user", "content": "你好"}]


@pytest.fixture
def spark() -> Iterator[FakeSpark]:
    server = FakeSpark().start()
    yield server
    server.stop()


@pytest.fixture
def openai() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI().start()
    yield server
    server.stop()


def spark_backend(server: FakeSpark, transport: str = "direct", **options: object) -> SparkBackend:
    settings = SparkSettings(fake_spark.APP_ID, fake_spark.API_KEY, fake_spark.API_SECRET,
                             url=server.url, domain="patchv3", transport=transport, **options)  # type: ignore[arg-type]
    return SparkBackend(settings)


@pytest.mark.parametrize("transport", ["direct", "sdk"])
def test_spark_streams_an_answer_with_usage(spark: FakeSpark, transport: str) -> None:
    completion = spark_backend(spark, transport).complete(HELLO)
    assert completion.text == '[{"基本信息-姓名": "李娜3"}]'
    assert completion.tokens == len("你好") + len(completion.text)


def test_spark_direct_reports_the_sid(spark: FakeSpark) -> None:
    assert (spark_backend(spark).complete(HELLO).request_id or "").startswith("cht")


@pytest.mark.parametrize("transport", ["direct", "sdk"])
def test_patch_id_is_sent_on_every_request(spark: FakeSpark, transport: str) -> None:
    backend = spark_backend(spark, transport, patch_id="res-42")
    for _ in range(3):
        backend.complete(HELLO)
    assert [r["header"].get("patch_id") for r in spark.requests] == [["res-42"]] * 3
    assert {r["parameter"]["chat"]["domain"] for r in spark.requests} == {"patchv3"}


@pytest.mark.parametrize("transport", ["direct", "sdk"])
def test_temperature_zero_is_kept_inside_the_api_range(spark: FakeSpark, transport: str) -> None:
    spark_backend(spark, transport, temperature=0.0).complete(HELLO)
    assert 0 < spark.requests[0]["parameter"]["chat"]["temperature"] <= 1


@pytest.mark.parametrize(("code", "error", "retryable"), [
    (10013, ContentRejectedError, False), (10019, ContentRejectedError, False),
    (10907, InputTooLongError, False), (11202, RateLimitedError, True), (11203, RateLimitedError, True),
    (10007, TransientBackendError, True), (10110, TransientBackendError, True),
    (11200, AuthError, False), (10016, AuthError, False), (12345, BackendError, False),
])
@pytest.mark.parametrize("transport", ["direct", "sdk"])
def test_spark_error_codes_become_typed_errors(spark: FakeSpark, transport: str, code: int,
                                               error: type[BackendError], retryable: bool) -> None:
    spark.error_for = lambda request: code
    with pytest.raises(error) as caught:
        spark_backend(spark, transport).complete(HELLO)
    assert type(caught.value) is error and caught.value.code == code
    assert caught.value.retryable is retryable
    assert caught.value.stops_job is (error is AuthError)


def test_after_10014_no_partial_answer_is_shown(spark: FakeSpark) -> None:
    spark.error_for = lambda request: 10014
    spark.partial_before_error = True
    with pytest.raises(ContentRejectedError) as caught:
        spark_backend(spark).complete(HELLO)
    assert "部分回答" not in str(caught.value) and caught.value.sid


def test_a_wrong_secret_fails_the_handshake_and_no_key_leaks(spark: FakeSpark) -> None:
    backend = SparkBackend(SparkSettings(fake_spark.APP_ID, fake_spark.API_KEY, "not-the-secret",
                                         url=spark.url, domain="lite"))
    with pytest.raises(AuthError) as caught:
        backend.complete(HELLO)
    assert spark.rejected_handshakes == 1 and spark.requests == []
    assert fake_spark.API_KEY not in str(caught.value) and "not-the-secret" not in str(caught.value)
    assert fake_spark.API_KEY not in repr(backend.settings)


def test_spark_needs_all_three_credentials() -> None:
    with pytest.raises(AuthError, match="SPARK_APP_ID"):
        SparkBackend(SparkSettings("", "", "", model="lite"))


def test_spark_deadline_is_ours_not_four_times_the_sdks(spark: FakeSpark) -> None:
    spark.delay = 3.0
    start = time.monotonic()
    with pytest.raises(BackendTimeoutError):
        spark_backend(spark).complete(HELLO, timeout=0.5)
    assert time.monotonic() - start < 2.0


def test_model_names_choose_url_and_domain() -> None:
    settings = SparkSettings("a", "k", "s", model="max-32k")
    assert settings.resolved() == ("wss://spark-api.xf-yun.com/chat/max-32k", "max-32k")
    with pytest.raises(RoleextError, match="unknown Spark model"):
        SparkSettings("a", "k", "s", model="nope").resolved()


def openai_backend(server: FakeOpenAI, key: str = fake_openai.API_KEY, timeout: float = 10) -> OpenAICompatBackend:
    return OpenAICompatBackend(OpenAISettings(server.base_url, "qwen2.5-7b", key, timeout=timeout))


def test_openai_compatible_answer(openai: FakeOpenAI) -> None:
    completion = openai_backend(openai).complete(HELLO)
    assert completion.text == '[{"基本信息-姓名": "李娜3"}]' and completion.request_id == "req-fake-1"
    assert openai.requests[0]["model"] == "qwen2.5-7b" and openai.requests[0]["messages"] == HELLO


def test_openai_wrong_key_is_an_auth_error_without_the_key(openai: FakeOpenAI) -> None:
    with pytest.raises(AuthError) as caught:
        openai_backend(openai, key="sk-wrong-key-999").complete(HELLO)
    assert "sk-wrong-key-999" not in str(caught.value)


@pytest.mark.parametrize(("status", "body", "error"), [
    (429, {"error": {"message": "rate limit"}}, RateLimitedError),
    (400, {"error": {"message": "This model's maximum context length is 8192 tokens"}}, InputTooLongError),
    (500, {"error": {"message": "boom"}}, TransientBackendError),
    (200, {"code": 10013, "message": "content rejected", "sid": "x1"}, ContentRejectedError),
    (400, {"error": {"message": "bad request"}}, BackendError),
])
def test_openai_errors_become_typed_errors(openai: FakeOpenAI, status: int, body: dict[str, object],
                                           error: type[BackendError]) -> None:
    openai.reply = lambda request: (status, body)
    with pytest.raises(error) as caught:
        openai_backend(openai).complete(HELLO)
    assert type(caught.value) is error


def test_openai_timeout(openai: FakeOpenAI) -> None:
    openai.delay = 2.0
    with pytest.raises(BackendTimeoutError):
        openai_backend(openai, timeout=0.3).complete(HELLO)
