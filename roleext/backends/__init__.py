"""LLM backends: one interface, one module a provider."""

from roleext.backends.base import Backend, ChatMessage, Completion
from roleext.backends.offline import OfflineBackend
from roleext.backends.openai_compat import OpenAICompatBackend, OpenAISettings
from roleext.backends.spark import SPARK_MODELS, SparkBackend, SparkSettings

__all__ = [
    "SPARK_MODELS",
    "Backend",
    "ChatMessage",
    "Completion",
    "OfflineBackend",
    "OpenAICompatBackend",
    "OpenAISettings",
    "SparkBackend",
    "SparkSettings",
]
