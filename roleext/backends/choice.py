"""A backend as the user chose it (CLI options or the app's form), and where its keys are.

Keys are found in the environment, in `.streamlit/secrets.toml` (passed in as a mapping by
the app), or typed in; `find_credentials` says where each was found, never what it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from roleext.backends.base import Backend
from roleext.backends.offline import OfflineBackend
from roleext.backends.openai_compat import OpenAICompatBackend, OpenAISettings
from roleext.backends.spark import SparkBackend, SparkSettings, spark_warnings
from roleext.errors import RoleextError
from roleext.i18n import _

BackendKind = Literal["offline", "spark", "openai"]
KEY_NAMES: dict[str, tuple[str, ...]] = {
    "spark": ("SPARK_APP_ID", "SPARK_API_KEY", "SPARK_API_SECRET"),
    "openai": ("OPENAI_API_KEY",),
}
SECRET_KEY_NAMES: frozenset[str] = frozenset({"SPARK_API_KEY", "SPARK_API_SECRET", "OPENAI_API_KEY"})
"""Keys typed into a password field and never shown. SPARK_APP_ID only names the app (it is
sent in clear in every request's header), so it is typed and shown as text."""


def is_secret(name: str) -> bool:
    """Whether a key of KEY_NAMES is hidden (password field, never echoed) or shown."""
    return name in SECRET_KEY_NAMES


def find_credentials(names: tuple[str, ...], env: Mapping[str, str],
                     secrets: Mapping[str, Any] | None = None) -> dict[str, tuple[str, str]]:
    """{name: (value, where)} for each key present; `where` is "environment" or "secrets.toml"."""
    found = {}
    for name in names:
        if env.get(name):
            found[name] = (env[name], "environment")
        elif secrets is not None and secrets.get(name):
            found[name] = (str(secrets[name]), "secrets.toml")
    return found


@dataclass
class BackendChoice:
    """Everything needed to build a backend; keys never appear in its repr."""

    kind: BackendKind = "offline"
    model: str | None = None
    timeout: float = 60.0
    spark_url: str | None = None
    domain: str | None = None
    patch_id: str | None = None
    transport: Literal["direct", "sdk"] = "direct"
    app_id: str = ""  # not a secret: see SECRET_KEY_NAMES
    api_key: str = field(default="", repr=False)
    api_secret: str = field(default="", repr=False)
    base_url: str | None = None
    fine_tuned: bool = False
    """An OpenAI-compatible model fine-tuned on roleext's export (a Spark model is when it has a patch_id)."""

    def with_credentials(self, env: Mapping[str, str], secrets: Mapping[str, Any] | None = None) -> BackendChoice:
        """A copy whose missing keys are filled from the environment or secrets."""
        found = {k: v for k, (v, _) in find_credentials(KEY_NAMES.get(self.kind, ()), env, secrets).items()}
        if self.kind == "spark":
            return replace(self, app_id=self.app_id or found.get("SPARK_APP_ID", ""),
                            api_key=self.api_key or found.get("SPARK_API_KEY", ""),
                            api_secret=self.api_secret or found.get("SPARK_API_SECRET", ""))
        if self.kind == "openai":
            return replace(self, api_key=self.api_key or found.get("OPENAI_API_KEY", ""))
        return self

    def spark_settings(self) -> SparkSettings:
        """The Spark settings this choice stands for: blank fields fall back to the model's."""
        return SparkSettings(
            app_id=self.app_id, api_key=self.api_key, api_secret=self.api_secret,
            model=self.model or "lite", url=self.spark_url or None, domain=self.domain or None,
            patch_id=self.patch_id or None, timeout=self.timeout, transport=self.transport)

    def warnings(self) -> list[str]:
        """What the user should check before starting a job: a URL and a model that disagree."""
        return spark_warnings(self.spark_settings()) if self.kind == "spark" else []

    def build(self) -> Backend:
        if self.kind == "spark":
            return SparkBackend(self.spark_settings())
        if self.kind == "openai":
            if not self.base_url or not self.model:
                raise RoleextError(_("an OpenAI-compatible backend needs a base URL and a model"))
            return OpenAICompatBackend(OpenAISettings(self.base_url, self.model, self.api_key, timeout=self.timeout,
                                                      fine_tuned=self.fine_tuned))
        return OfflineBackend()

