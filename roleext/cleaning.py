"""Cleaning a chat before anything is cut, with what a project's chats teach about themselves.

A project's chats share noise that no single chat reveals: the vendor's staff, and
boilerplate they paste into many groups (marketing blurbs, survey invitations). Both are
learnt from the chats themselves, without labels and without a hard-coded list.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from roleext.chat import Message, clean_messages, parse_messages, render, strip_markup

STAFF_MIN_CHATS = 3
STAFF_SHARE = 0.04
"""A speaker in at least this share of a project's chats (and STAFF_MIN_CHATS) is vendor staff."""
BOILERPLATE_MIN_CHARS = 12
BOILERPLATE_MIN_CHATS = 4
BOILERPLATE_SHARE = 0.04
"""A message text found verbatim in this share of chats (and BOILERPLATE_MIN_CHATS) is boilerplate."""


@dataclass(frozen=True)
class ChatProfile:
    """What a project's chats have in common: staff names and boilerplate message texts."""

    staff: frozenset[str] = frozenset()
    boilerplate: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CleanChat:
    """A chat after cleaning, with the character counts a user is shown."""

    messages: list[Message] = field(default_factory=list)
    chars_before: int = 0
    with_boilerplate: list[Message] = field(default_factory=list)
    """The messages before boilerplate was dropped: what the facts block is drawn from, since a
    pasted announcement may still name the product a customer asks about."""

    @property
    def text(self) -> str:
        return render(self.messages)

    @property
    def chars_after(self) -> int:
        return len(self.text)


def _in_many(presence: Counter[str], chats: int, minimum: int, share: float) -> frozenset[str]:
    """What is present in at least `share` of the chats, and in `minimum` of them."""
    threshold = max(minimum, math.ceil(share * chats))
    return frozenset(item for item, count in presence.items() if count >= threshold)


@dataclass
class ProfileCounts:
    """In how many chats each speaker and each long message text appear: what a profile is
    learnt from. Counts of parts of a project add up (`+`), so processes can each count some."""

    chats: int = 0
    speakers: Counter[str] = field(default_factory=Counter)
    texts: Counter[str] = field(default_factory=Counter)

    def __add__(self, other: ProfileCounts) -> ProfileCounts:
        return ProfileCounts(self.chats + other.chats, self.speakers + other.speakers, self.texts + other.texts)

    def profile(self) -> ChatProfile:
        return ChatProfile(_in_many(self.speakers, self.chats, STAFF_MIN_CHATS, STAFF_SHARE),
                           _in_many(self.texts, self.chats, BOILERPLATE_MIN_CHATS, BOILERPLATE_SHARE))


def profile_counts(chats: Iterable[str]) -> ProfileCounts:
    """The counts of these chats, each parsed once."""
    counts = ProfileCounts()
    for chat in chats:
        counts.chats += 1
        messages = parse_messages(strip_markup(chat))
        counts.speakers.update({m.speaker for m in messages if m.speaker})
        counts.texts.update({m.text.strip() for m in clean_messages(messages)
                             if len(m.text.strip()) >= BOILERPLATE_MIN_CHARS})
    return counts


def learn_profile(chats: Iterable[str]) -> ChatProfile:
    """Staff and boilerplate of a project, from its chats alone, each chat parsed once."""
    return profile_counts(chats).profile()


def clean_chat(chat_text: str, profile: ChatProfile | None = None) -> CleanChat:
    """Markup, placeholders, recalled messages, repeated quotes and the project's boilerplate removed."""
    everything = clean_messages(parse_messages(strip_markup(chat_text)))
    messages = everything
    if profile is not None and profile.boilerplate:
        messages = [m for m in everything if m.text.strip() not in profile.boilerplate]
    return CleanChat(messages, len(chat_text), everything)
