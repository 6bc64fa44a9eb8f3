"""What the pages say in the reader's language: the checks' and the customer's sentences
(`workflow.Sentence`), why a case's state refused an action, why an audit trail breaks, what
the reader noted of a page, and the words for values (`office_labels`); each from its English,
through the one catalogue (`cesja.web.catalogue`).

The lower layers write English: a sentence the catalogue has is said in Polish with each of
its values in Polish words (a party in the genitive, a channel in the instrumental, fields by
their names); a note of the reader's or a break in the audit trail is matched against the
English it was written from, the catalogue's msgid, whose placeholders stand for the values.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

from cesja.casework import lifecycle
from cesja.errors import CesjaError
from cesja.web import office_labels
from cesja.web.catalogue import N_, language_or_default, translations
from cesja.web.office_labels import PARTIES, STATES, actor_label, field_label, party_label
from ocr.esign import ERASED
from workflow import Check, Sentence, sources

# A sentence's values in the words its catalogue sentence takes them in.
_OF_PARTY = {
    "current_registrant": N_("of the current registrant"),
    "new_registrant": N_("of the new registrant"),
}
_BY_CHANNEL = {
    "post": N_("by post"),
    "fax": N_("by fax"),
    "email": N_("by e-mail"),
    "upload": N_("as an upload"),
}
# How an e-mail's sender was authenticated, or why not (workflow.checks.HOW).
SENDER_CHECKED = {
    "dmarc": N_("DMARC passed"),
    "dkim": N_("a DKIM signature of the sender's domain passed"),
    "dkim_not_aligned": N_("the DKIM signature that passed is of another domain than the sender's"),
    "not_passed": N_("neither DMARC nor DKIM passed"),
    "no_results": N_("the receiving mail host left no authentication results"),
    "not_configured": N_("the service is not told which mail host's results to trust"),
    "no_sender": N_("the message has no single sender address"),
}

# Who sent a scan through a customer's link, as intake records it (`cesja.web.customer`).
UPLOADED_THROUGH = N_("customer link: {case}, {party}")

# Why the case's state refused an action (`workflow.needs` words it for the API).
_ACTS = {
    "review_needed": N_("Sending the case to review"),
    "documents_pending": N_("Returning the case to waiting for documents"),
    "all_checks_passed": N_("Releasing the transfer"),
    "complete": N_("Confirming the transfer"),
    "reject": N_("Rejecting the case"),
    "cancel": N_("Cancelling the case"),
    "expire": N_("Closing the case after its deadline"),
    "reissue": N_("Issuing a new version of the form"),
}
_WAITS = {
    "awaiting_documents": N_("some checks are still waiting for pages from the registrants"),
    "in_review": N_("a failed check is waiting for the back office or for new documents"),
    "transfer_ready": N_("every check passed, the transfer is waiting for the registrar"),
    "completed": N_("the transfer was confirmed and the case closed"),
    "rejected": N_("the back office rejected it and the case was closed"),
    "cancelled": N_("it was cancelled and the case closed"),
    "expired": N_("its deadline passed and the case was closed"),
}

# What else a button in the back office may meet, by the error's stable code (the API says
# it in English by contract, with the values that concern it).
_ERRORS = {
    "unknown_check": N_("The case has no such check."),
    "webhook_not_found": N_("There is no such notice."),
    "webhook_not_resendable": N_(
        "Only a notice that was not delivered or was refused can be sent again, and only while "
        "what it tells the registrar is still true."
    ),
    "notice_not_found": N_("There is no such e-mail."),
    "notice_not_resendable": N_(
        "Only an e-mail that could not be sent can be sent again, and only while sending "
        "e-mails is configured (CESJA_SMTP_URL)."
    ),
    "not_a_message": N_("The file is not an e-mail message (RFC 5322)."),
    "too_complex": N_("The message's parts are nested too deeply to read."),
    "too_large": N_("The file is larger than the upload limit (CESJA_MAX_UPLOAD_MB)."),
    "store_full": N_("There is no room left in the scan store: tell the administrator."),
}

# Why an audit trail does not hold (`workflow.audit`), as it writes it; a placeholder stands
# for a value (an event's number) or for words the page need not repeat.
_BROKEN = (
    N_("its stored hash was changed; its content is as it was written"),
    N_("its hash does not hold under the audit key: {how}"),
    N_("its content (type, actor, time or data) was changed after it was written"),
    N_("its content or its hash was changed after it was written"),
    N_("it does not link to event {event}: {how}"),
    N_("the events are out of order: event {event} comes after event {before}"),
    N_("event {event} is missing: event {next} follows {after}"),
    N_("events {first} to {last} are missing: event {next} follows {after}"),
    N_("it should start the trail, but its prev_hash is not the genesis value"),
)

# What the reader notes of a page and of the ink it found (`ocr.reading`, `ocr.ink`,
# `documents.page_code`), part by part; the first that matches a part says it.
_READER_NOTES = (
    N_("{count} streak column(s) removed"),
    N_("a halftone screen over {percent}% of the page read as the grey it stands for"),
    N_(
        "a halftone screen in the marks ({percent}% of the ink in dots) read as the grey it "
        "stands for"
    ),
    N_("the QR code could not be read"),
    N_("routed by the printed case number"),
    N_("the QR code, registered onto the code printed for that number, agrees"),
    N_(
        "the QR code, folded past reading as it lies, was read once registered onto the code "
        "printed for the case number"
    ),
    N_(
        "the QR code on the page is not the one printed for case {case}: it may have been put "
        "there from another page"
    ),
    N_("the form's corner markers were not found: it cannot be read"),
    N_("no readable page code and no readable case number"),
    N_("the page names case {case}, which does not exist"),
    N_(
        "printed from form version {version}; the case is at version {current}, so this page "
        "no longer counts"
    ),
    N_("the page claims form version {version}, never issued"),
    N_(
        "the page code is signed with key {key}, but form version {version} was issued under "
        "key {issued}: the code was forged"
    ),
    N_("the page code was read, but the corner markers were not found: the page cannot be checked"),
    N_("send it again, whole and unfolded"),
    N_("no ink on the page"),
    N_("not a page of a Cesja form (no page code, no corner markers)"),
    N_("not a Cesja page code"),
    N_("the page code is malformed"),
    N_("the page code names a party and a page that do not belong together"),
    N_("the page code's MAC does not match: the code was altered or forged"),
    N_("the page code is signed with key {key}, which the service no longer holds {why}"),
    N_("{ink} mm² of handwriting spanning {width}×{height} mm"),
    N_(
        "{ink} mm² of handwriting spanning {width}×{height} mm (a stamp's {stamp} mm² of ink "
        "over the box left aside)"
    ),
    N_(
        "{ink} mm² of marks spanning {width}×{height} mm, of which {sharp} mm² stand out as a "
        "pen's strokes do: a copier's or a printer's grey, not a signature"
    ),
    N_("a round stamp of {width}×{height} mm"),
    N_("a framed stamp of {width}×{height} mm"),
    N_("a text stamp of {width}×{height} mm"),
    N_("the “no stamp” box is ticked"),
    N_(
        "no stamp, and the “no stamp” box is not ticked ({ink} mm² of other ink: handwriting, "
        "not a stamp)"
    ),
    N_("no stamp, and the “no stamp” box is not ticked"),
    N_("no stamp, and marks pass through the “no stamp” box: it cannot be read as ticked{more}"),
    N_(
        "no stamp, and the “no stamp” box is not where it was printed (the page is folded or "
        "warped there): it cannot be read as ticked"
    ),
    N_(
        "{percent}% of it under a streak as dark as a pen's ink: what is written there cannot "
        "be told ({ink} mm² of ink the form did not print)"
    ),
    N_(
        "{percent}% of it under a streak as dark as a pen's ink: what is written there cannot "
        "be told (clean)"
    ),
    # `ocr.streaks.Streaks.describe`: streaks down the page, across it, or both, and how much
    # of them is too dark to see a pen's stroke through.
    N_(
        "streaks of a drum or a roller taken for dirt, not ink: {down} down the page at "
        "{left} mm from the left and {across} across it at {top} mm from the top ({dark} mm of "
        "them too dark to see a pen's stroke through)"
    ),
    N_(
        "streaks of a drum or a roller taken for dirt, not ink: {down} down the page at "
        "{left} mm from the left and {across} across it at {top} mm from the top"
    ),
    N_(
        "streaks of a drum or a roller taken for dirt, not ink: {down} down the page at "
        "{left} mm from the left ({dark} mm of them too dark to see a pen's stroke through)"
    ),
    N_(
        "streaks of a drum or a roller taken for dirt, not ink: {down} down the page at "
        "{left} mm from the left"
    ),
    N_(
        "streaks of a drum or a roller taken for dirt, not ink: {across} across it at {top} mm "
        "from the top ({dark} mm of them too dark to see a pen's stroke through)"
    ),
    N_(
        "streaks of a drum or a roller taken for dirt, not ink: {across} across it at {top} mm "
        "from the top"
    ),
    # `ocr.specks.Dirt.describe`: a copier's specks, how many, over how much of the page, where.
    N_(
        "a copier's specks taken for dirt, not ink: {specks} specks over {area} cm² at {left} mm "
        "from the left and {top} mm from the top"
    ),
    N_("{ink} mm² of ink the form did not print"),
    N_("clean"),
    # `ocr.ink.alterations`: a zone measured again piece by piece (a fold bent its line).
    N_(
        "{ink} mm² of ink the form did not print ({before} mm² before its pieces were "
        "registered one by one)"
    ),
    N_(
        "clean once its pieces were registered one by one ({before} mm² before: a fold or a "
        "warp moved them)"
    ),
    # `ocr.ink.alterations`: the tips of the next lines' letters, which a fax moved into a zone.
    N_(
        "clean once the tips of the letters of the lines next to it were set aside ({before} "
        "mm² before: a fax or a scan moved those lines)"
    ),
    N_(
        "{ink} mm² of ink the form did not print ({before} mm² before the tips of the letters "
        "of the lines next to it were set aside)"
    ),
    # `ocr.folds`: the form's own lines a fold moved, and a signature box too much under them.
    N_(
        "lines of the form a fold moved in the signing area, left aside at {places} mm "
        "(across × down, from the page's top left corner)"
    ),
    N_("a fold moved the box's own lines over {percent}% of it: the signature cannot be told"),
    N_(
        "lines of the form a fold moved among the values, left aside at {places} mm "
        "(across × down, from the page's top left corner)"
    ),
    N_("a fold moved the form's lines over {percent}% of it: what is written there cannot be told"),
)


def _pattern(template: str) -> re.Pattern[str]:
    """What `template` matches once its placeholders are filled: each placeholder a group."""
    # Split on its placeholders, the text is at the even places and their names at the odd.
    parts = re.split(r"\{(\w+)\}", template)
    return re.compile(
        "".join(f"(?P<{p}>.*?)" if i % 2 else re.escape(p) for i, p in enumerate(parts))
    )


_UPLOADED_THROUGH = _pattern(UPLOADED_THROUGH)
_BROKEN_PATTERNS = [(_pattern(t), t) for t in _BROKEN]
_READER_PATTERNS = [(_pattern(t), t) for t in _READER_NOTES]


def _day(iso: str) -> str:
    """A day as Poles write it, and as the catalogue's sentences take it: 3.12.2026."""
    year, month, day = iso.split("-")
    return f"{int(day)}.{month}.{year}"


class Words:
    """What the pages say in one language, and the template globals that say it."""

    def __init__(self, language: str):
        self.language = language
        catalogue = translations(language)
        self.gettext: Callable[[str], str] = catalogue.gettext
        self.ngettext: Callable[[str, str, int], str] = catalogue.ngettext
        self.template_globals: dict[str, Any] = {
            **office_labels.in_language(self.gettext, self.ngettext),
            "say": self.sentence,
            "check_detail": self.check_detail,
            "said": self.said,
            "broken_link": self.broken_link,
            "reader_note": self.reader_note,
            "sender_how": self.sender_checked,
            "scan_sender": self.scan_sender,
            "language": language,
        }

    def sentence(self, sentence: Sentence) -> str:
        """A sentence of the checks or of a party's page; in English when the catalogue
        lacks it."""
        template = self.gettext(sentence.template)
        if template == sentence.template:
            return sentence.english()
        return template.format(**{key: self._value(key, v) for key, v in sentence.values})

    def _value(self, key: str, value: str) -> str:
        _ = self.gettext
        if key == "party":
            return _(_OF_PARTY[value]) if value in _OF_PARTY else value
        if key == "channel":
            return _(_BY_CHANNEL[value]) if value in _BY_CHANNEL else value
        if key == "fields":
            return ": " + ", ".join(map(self._field, value.split(","))) if value else ""
        if key == "actor":
            return actor_label(_, value)
        if key == "how":
            return self.sender_checked(value)
        if key == "sender":
            return value or _("no single address")
        if key == "date":
            return _day(value)
        if key in ("signer", "identity", "why") and value == ERASED:
            return _("[data erased]")
        return value

    def _field(self, name: str) -> str:
        party, _dot, short = name.rpartition(".")
        label = field_label(self.gettext, short, None)
        return f"{party_label(self.gettext, party)}: {label}" if party else label

    def said(self, template_and_values: tuple[str, tuple[tuple[str, str], ...]] | None) -> str:
        """What a signed file's report says (a template and its values)."""
        if template_and_values is None:
            return ""
        template, values = template_and_values
        return self.sentence(Sentence(template, values))

    def check_detail(self, check: Check) -> str:
        """What a check says (its English detail when it says nothing we can word)."""
        if not check.sentences:
            return check.detail
        return " ".join(self.sentence(sentence) for sentence in check.sentences)

    def sender_checked(self, how: str) -> str:
        """How an e-mail's sender was authenticated, or why not."""
        return self.gettext(SENDER_CHECKED[how]) if how in SENDER_CHECKED else how

    def scan_sender(self, sender: str | None) -> str:
        """Who sent a scan, as intake recorded it: a customer's link said in words."""
        found = _UPLOADED_THROUGH.fullmatch(sender or "")
        if found is None:
            return sender or ""
        party = found["party"]
        who = party_label(self.gettext, party) if party in PARTIES else self.gettext("both parties")
        return self.gettext(UPLOADED_THROUGH).format(case=found["case"], party=who)

    def state(self, state: str) -> str:
        return self.gettext(STATES[state]) if state in STATES else state

    def refusal(self, err: CesjaError) -> str:
        """Why an action was refused: what the case's state needs, what the error's code
        means; what the API answers for any other error."""
        _ = self.gettext
        if isinstance(err, lifecycle.TransitionRefused) and err.extra["event"] in _ACTS:
            state, event = err.extra["state"], err.extra["event"]
            act = _(_ACTS[event])
            allowed = [s for s in STATES if s in sources(event)]
            if state in allowed:  # a guard said no: the only one is the deadline
                return _("{act} is possible in the state {state} only after the deadline.").format(
                    act=act, state=self._quoted(state)
                )
            return _(
                "{act} is possible only in the state {states}; the case is in the state "
                "{state}: {why}."
            ).format(
                act=act,
                states=_(" or ").join(map(self._quoted, allowed)),
                state=self._quoted(state),
                why=_(_WAITS[state]),
            )
        if isinstance(err, lifecycle.CaseClosed):
            return _(
                "The case is in the state {state} and is closed: checks are decided only while "
                "the case is open."
            ).format(state=self._quoted(err.extra["state"]))
        if err.code in _ERRORS:
            return _(_ERRORS[err.code])
        return err.message

    def _quoted(self, state: str) -> str:
        return self.gettext("“{name}”").format(name=self.state(state))

    def broken_link(self, reason: str) -> str:
        """Why the chain breaks at an event, where it is a reason we know."""
        return self._matched(reason, _BROKEN_PATTERNS)

    def reader_note(self, note: str) -> str:
        """A note of the reader's, part by part; a part we cannot word stays as it is."""
        return "; ".join(self._matched(part, _READER_PATTERNS) for part in note.split("; ") if part)

    def _matched(self, written: str, patterns: list[tuple[re.Pattern[str], str]]) -> str:
        for pattern, template in patterns:
            found = pattern.fullmatch(written)
            if found:
                said = self.gettext(template)
                return written if said == template else said.format(**found.groupdict())
        return written


def words(language: str | None) -> Words:
    """What the pages say in `language` (the default for any other value)."""
    return _words(language_or_default(language))


@cache
def _words(language: str) -> Words:
    return Words(language)
