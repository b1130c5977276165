"""The team of a project: who may sign in to the app, with which role.

A project without users is single-user mode (no sign-in, every right); the first
`roleext users add` turns team mode on, and removing the last user turns it off again.
Passwords are hashed with argon2id (argon2-cffi, the reference implementation's binding),
whose PHC string holds its own salt and parameters; the password itself is never stored,
logged or shown. A user who signs in with the team's OIDC provider instead has no password
(`--no-password`), and the password form never lets them in.
"""

from __future__ import annotations

import getpass
import importlib.util
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from roleext.errors import InvalidUserError, SignInError, UnknownUserError, UserExistsError
from roleext.i18n import _
from roleext.roles import ROLES, Person, Role
from roleext.store import ProjectStore

MAX_NAME_CHARS = 64
"""Long enough for an e-mail address (an OIDC user's name); history's author column holds 100."""
RESERVED_NAMES = frozenset({"generated"})
"""Authors history gives a meaning of its own: a job's output (`roleext.review`)."""
NO_PASSWORD = "!"
"""The stored hash of a user without a password: no argon2 string, so no password verifies."""

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
_DECOY = _hasher.hash("a password no user has")
"""Verified against when the name is unknown, so a refusal takes as long either way."""


@dataclass(frozen=True)
class User:
    """One member of the team, as `users list` shows them (never their hash)."""

    name: str
    role: Role
    created: datetime
    has_password: bool

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "created": self.created.isoformat(),
                "password": self.has_password}

    def person(self) -> Person:
        return Person(self.name, self.role)


def check_name(name: str) -> str:
    """The name as stored (surrounding spaces removed), or why it cannot be a user's name."""
    name = name.strip()
    if not name:
        raise InvalidUserError(_("a user needs a name"))
    if len(name) > MAX_NAME_CHARS:
        raise InvalidUserError(_("the name {name!r} is longer than {n} characters").format(name=name, n=MAX_NAME_CHARS))
    if any(unicodedata.category(char).startswith("C") for char in name):
        raise InvalidUserError(_("the name {name!r} holds a control character").format(name=name))
    if name in RESERVED_NAMES or " (undo of #" in name:
        raise InvalidUserError(_("{name!r} cannot be a user's name: history uses it for something else").format(
            name=name))
    return name


def check_role(role: str) -> Role:
    """The role, or an error naming the roles there are."""
    for known in ROLES:
        if role == known:
            return known
    raise InvalidUserError(_("unknown role {role!r}: choose {roles}").format(role=role, roles=", ".join(ROLES)))


def hash_password(password: str) -> str:
    """The argon2id hash of a password; an empty password is refused."""
    if not password:
        raise InvalidUserError(_("the password is empty; type one"))
    return _hasher.hash(password)


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class UserBook:
    """The users table of one project store."""

    def __init__(self, store: ProjectStore) -> None:
        self.store = store
        self.users: Table = store.users  # reflected once with the store: the app asks on every rerun

    def team_mode(self) -> bool:
        """Whether the project has users, so the app asks who is working."""
        with self.store.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(self.users)).scalar_one() > 0

    def check_new(self, name: str, role: str) -> None:
        """Refuse a new user's name or role before anyone types a password for it."""
        name = check_name(name)
        check_role(role)
        if self.get(name) is not None:
            raise self._exists(name)

    def add(self, name: str, role: str, password: str | None) -> User:
        """A new user; `password` None makes one who signs in only through the OIDC provider."""
        name, checked_role = check_name(name), check_role(role)
        hashed = NO_PASSWORD if password is None else hash_password(password)
        now = datetime.now(UTC)
        try:
            with self.store.write() as conn:
                if conn.execute(select(self.users.c.name).where(self.users.c.name == name)).first() is not None:
                    raise self._exists(name)
                conn.execute(insert(self.users).values(name=name, role=checked_role, password_hash=hashed,
                                                       created_at=now, updated_at=now))
        except IntegrityError:  # a second process added the same name between our check and insert
            raise self._exists(name) from None
        return User(name, checked_role, now, password is not None)

    def _exists(self, name: str) -> UserExistsError:
        return UserExistsError(_("a user named {name!r} already exists (roleext users passwd {name} changes their "
                                 "password)").format(name=name))

    def list_users(self) -> list[User]:
        """Every user, by name."""
        u = self.users
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(u.c.name, u.c.role, u.c.created_at, u.c.password_hash).order_by(u.c.name))
            return [User(row.name, check_role(row.role), _utc(row.created_at), row.password_hash != NO_PASSWORD)
                    for row in rows]

    def get(self, name: str) -> User | None:
        """The user of that name, or None."""
        return next((user for user in self.list_users() if user.name == name.strip()), None)

    def remove(self, name: str) -> None:
        """Take a user out of the team; what they wrote keeps their name in history."""
        with self.store.write() as conn:
            if conn.execute(delete(self.users).where(self.users.c.name == name.strip())).rowcount == 0:
                raise self._unknown(name)

    def set_password(self, name: str, password: str) -> None:
        """Give a user a new password (the old one stops working at once)."""
        hashed = hash_password(password)
        with self.store.write() as conn:
            changed = conn.execute(update(self.users).where(self.users.c.name == name.strip())
                                   .values(password_hash=hashed, updated_at=datetime.now(UTC))).rowcount
        if changed == 0:
            raise self._unknown(name)

    def _unknown(self, name: str) -> UnknownUserError:
        return UnknownUserError(_("no user named {name!r} (roleext users list shows them)").format(name=name))

    def verify(self, name: str, password: str) -> User:
        """The user whose name and password these are; `SignInError` otherwise, the same for
        an unknown name as for a wrong password, and as slow."""
        u = self.users
        with self.store.engine.connect() as conn:
            row = conn.execute(select(u.c.name, u.c.role, u.c.created_at, u.c.password_hash)
                               .where(u.c.name == name.strip())).first()
        stored = row.password_hash if row is not None else _DECOY
        try:
            _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            raise SignInError(_("wrong name or password")) from None
        if row is None:  # the decoy's own password, typed under an unknown name
            raise SignInError(_("wrong name or password"))
        if _hasher.check_needs_rehash(stored):  # hashed with older parameters: upgrade it now
            with self.store.write() as conn:
                conn.execute(update(u).where(u.c.name == row.name).values(password_hash=_hasher.hash(password)))
        return User(row.name, check_role(row.role), _utc(row.created_at), True)


def read_password(stream: TextIO, ask: Callable[[str], str] = getpass.getpass) -> str:
    """A new password: typed twice, unseen, at a terminal; else the first line of `stream` (a pipe).

    Only the line's ending is removed: spaces are part of the password."""
    if stream.isatty():
        password = ask(_("Password: "))
        if password and ask(_("Password again: ")) != password:
            raise InvalidUserError(_("the two passwords differ; nothing was changed"))
        return password
    return stream.readline().removesuffix("\n").removesuffix("\r")


def user_lines(users: list[User]) -> list[str]:
    """`users list`: one line a user, name, role, since when; a line saying there are none."""
    if not users:
        return [_("no users: single-user mode, the app asks nobody to sign in")]
    return [_("{name}  {role}  since {created:%Y-%m-%d}{oidc}").format(
        name=user.name, role=user.role, created=user.created,
        oidc="" if user.has_password else _("  (signs in with the OIDC provider only)")) for user in users]


def oidc_providers(auth: Mapping[str, Any]) -> list[str | None]:
    """The OIDC providers of secrets.toml's `[auth]` section, as `st.login` names them: None for
    one configured in the section itself (its `client_id`), then each `[auth.NAME]`."""
    own: list[str | None] = [None] if "client_id" in auth else []
    return own + [name for name, value in auth.items() if isinstance(value, Mapping)]


def oidc_user_name(claims: Mapping[str, Any]) -> str | None:
    """The roleext user an OIDC sign-in stands for: the provider's verified e-mail, else None.

    Never the `name` claim: at most providers a person sets their own display name, so
    anyone could call themselves "alice" and be signed in as the admin alice."""
    email = str(claims.get("email") or "").strip()
    if not email or claims.get("email_verified") is False:
        return None
    return email


def oidc_missing() -> str | None:
    """Why the OIDC sign-in cannot work here (Streamlit's st.login needs Authlib), or None."""
    if importlib.util.find_spec("authlib") is None:
        return _("secrets.toml configures a sign-in provider ([auth]), but Authlib, which Streamlit needs for it, "
                 "is not installed: {command}").format(command='pip install -e ".[oidc]"')
    return None
