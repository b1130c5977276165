"""The Spark form warns when its URL, model and domain disagree; the app id is shown."""

from __future__ import annotations

from typing import Any

import pytest

from roleext.backends.choice import KEY_NAMES, SECRET_KEY_NAMES, BackendChoice, is_secret
from roleext.backends.spark import SparkSettings, spark_warnings
from roleext.cli import backend_from_args, build_parser


def spark(**kwargs: Any) -> SparkSettings:
    return SparkSettings(app_id="app", api_key="key", api_secret="secret", **kwargs)


@pytest.mark.parametrize("settings", [
    spark(model="lite"),
    spark(model="max", url="wss://spark-api.xf-yun.com/v3.5/chat"),
    spark(model="lite", url="wss://spark-api.xf-yun.com/v3.5/chat", domain="generalv3.5"),
    spark(model="4.0ultra", domain="4.0Ultra"),
    spark(model="pro-128k", url="wss://spark-api.xf-yun.com/chat/pro-128k/"),
    # A fine-tuned service: its own host and service id; nothing to judge.
    spark(model="pro", url="wss://maas-api.cn-huabei-1.xf-yun.com/v1.1/chat", domain="xdeepseekv3",
          patch_id="1234"),
    spark(model="pro", url="wss://spark-api-n.xf-yun.com/v3.1/chat", domain="patchv3", patch_id="1234"),
], ids=["model only", "url of the model", "url and domain agree", "domain of the model", "trailing slash",
        "service on its own host", "older service"])
def test_a_url_model_and_domain_that_agree_raise_no_warning(settings: SparkSettings) -> None:
    assert spark_warnings(settings) == []


def test_a_max_url_with_model_lite_warns_that_domain_lite_is_sent() -> None:
    (warning,) = spark_warnings(spark(model="lite", url="wss://spark-api.xf-yun.com/v3.5/chat"))
    assert "/v3.5/chat" in warning and "max" in warning and "generalv3.5" in warning
    assert "the domain sent is lite" in warning


@pytest.mark.parametrize("settings", [
    spark(model="lite", domain="generalv3.5"),  # the model's URL, another model's domain
    spark(model="max", url="wss://spark-api.xf-yun.com/v1.1/chat", domain="generalv3.5"),
    spark(model="pro", url="wss://spark-api-n.xf-yun.com/chat/max-32k"),
])
def test_a_typed_domain_or_url_of_another_model_warns(settings: SparkSettings) -> None:
    assert len(spark_warnings(settings)) == 1


def test_a_fine_tuned_model_without_its_service_id_warns() -> None:
    (warning,) = spark_warnings(spark(model="pro", url="wss://spark-api-n.xf-yun.com/v3.1/chat", patch_id="1234"))
    assert "service id" in warning and "generalv3 is sent" in warning


def test_the_choice_warns_only_for_spark() -> None:
    mismatch = BackendChoice(kind="spark", model="lite", spark_url="wss://spark-api.xf-yun.com/v3.5/chat")
    assert len(mismatch.warnings()) == 1
    assert BackendChoice(kind="spark", model="max").warnings() == []
    assert BackendChoice(kind="openai", model="lite", base_url="http://127.0.0.1:8000/v1").warnings() == []
    assert BackendChoice().warnings() == []


def test_the_app_id_is_shown_and_the_keys_stay_secret() -> None:
    assert [is_secret(name) for name in KEY_NAMES["spark"]] == [False, True, True]
    assert all(is_secret(name) for name in KEY_NAMES["openai"])
    assert {name for names in KEY_NAMES.values() for name in names} >= SECRET_KEY_NAMES
    choice = BackendChoice(kind="spark", app_id="app-4321", api_key="key-1234", api_secret="sec-5678")
    assert "app-4321" in repr(choice)
    assert "key-1234" not in repr(choice) and "sec-5678" not in repr(choice)


def test_the_command_line_prints_the_warning(capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args([
        "summarize", "--backend", "spark", "--model", "lite", "--spark-url", "wss://spark-api.xf-yun.com/v3.5/chat",
        "--app-id", "a", "--api-key", "key-1234", "--api-secret", "sec-5678"])
    backend_from_args(args)  # builds only: nothing is sent
    assert "warning: The URL's path /v3.5/chat is Spark max's" in capsys.readouterr().err
