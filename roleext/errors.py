"""Errors a user will read, and the problems they list.

The app and the command line catch `RoleextError` and show its message; anything else
escaping to a user is a bug.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from roleext.matching import ImportPlan

from roleext.i18n import _, ngettext
from roleext.redaction import redact

Severity = Literal["error", "warning", "lint"]

MAX_PROBLEMS_SHOWN = 50


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or odd) in a file, located by record, customer and field.

    `record` and `customer` are 1-based, as a person counts them in the file.
    """

    message: str
    record: int | None = None
    field: str | None = None
    customer: int | None = None
    severity: Severity = "error"

    def __str__(self) -> str:
        where = []
        if self.record is not None:
            where.append(_("record {n}").format(n=self.record))
        if self.customer is not None:
            where.append(_("customer {n}").format(n=self.customer))
        if self.field is not None:
            where.append(_("field {name}").format(name=self.field))
        return _("{where}: {message}").format(where=_(", ").join(where) or _("file"), message=self.message)


class RoleextError(Exception):
    """An error whose message is written for the user and shown as it is."""


class InvalidFileError(RoleextError):
    """A file that cannot be used; lists every problem found, capped for reading."""

    def __init__(self, problems: list[Problem], source: str | None = None) -> None:
        self.problems = problems
        self.source = source or _("file")
        super().__init__(self._render())

    def _render(self) -> str:
        shown = [str(p) for p in self.problems[:MAX_PROBLEMS_SHOWN]]
        more = len(self.problems) - len(shown)
        if more > 0:
            shown.append(ngettext("... and {n} more problem", "... and {n} more problems", more).format(n=more))
        count = len(self.problems)
        head = ngettext("{source} cannot be used ({n} problem):", "{source} cannot be used ({n} problems):",
                        count).format(source=self.source, n=count)
        return "\n".join([head, *shown])


class UsageError(RoleextError):
    """A command line that cannot work as given (an option's value, a path it names); exit 2."""


class ConflictError(RoleextError):
    """The row changed since the caller read it (another tab or process wrote first)."""


class ImportRefusedError(RoleextError):
    """An import that would erase or change curated work without the user's say; `plan` previews it."""

    def __init__(self, message: str, plan: ImportPlan,
                 reason: Literal["erases gold", "needs confirmation", "preview outdated"]) -> None:
        super().__init__(message)
        self.plan = plan
        self.reason = reason


class JobBusyError(RoleextError):
    """Another job (another tab, or the command line) already runs the same task on the same split."""


class NotFoundError(RoleextError):
    """A record, summary or prediction asked for does not exist in the project."""


class ExportError(RoleextError):
    """An export that would produce an invalid or empty file."""


class BackendError(RoleextError):
    """An LLM call that failed; `retryable` and `stops_job` tell the batch runner what to do.

    `code` is the provider's error code and `sid` its request id, kept for the log so a
    failure can be traced with the provider; neither ever holds a key. The message is
    redacted here, so a provider that quotes a key or a signed URL leaks nothing.
    """

    retryable = False
    stops_job = False

    def __init__(self, message: str, *, code: int | None = None, sid: str | None = None) -> None:
        self.code = code
        self.sid = sid
        suffix = "".join([_(" (code {code})").format(code=code) if code is not None else "",
                          f" [sid {sid}]" if sid else ""])
        super().__init__(redact(message + suffix))


class UnusableAnswerError(BackendError):
    """The model answered, but nothing usable: no JSON, no customer, an empty summary."""


class ContentRejectedError(BackendError):
    """The provider's moderation refused the input or the answer; retrying will not help."""


class InputTooLongError(BackendError):
    """The input exceeds the model's context; it must be shortened, then tried again."""


class RateLimitedError(BackendError):
    """Too many requests per second or at once; retried with backoff."""

    retryable = True


class TransientBackendError(BackendError):
    """A busy service or a broken connection; retried with backoff."""

    retryable = True


class BackendTimeoutError(TransientBackendError):
    """No complete answer before the call's deadline."""


class AuthError(BackendError):
    """Credentials refused or quota exhausted: the job stops and the user must act."""

    stops_job = True


class UserExistsError(RoleextError):
    """`users add` of a name the project already has."""


class UnknownUserError(NotFoundError):
    """A user name the project does not have (`users remove`, `users passwd`)."""


class InvalidUserError(UsageError):
    """A user that cannot be made as given: a bad name, an unknown role, an empty password; exit 2."""


class SignInError(RoleextError):
    """A sign-in refused; the message never says whether the name or the password was wrong."""
