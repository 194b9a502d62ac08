"""Redaction of personal data (the `redaction` setting), applied to every ticket and action record in the
worker that read it, right after normalisation (records.py), before the record leaves the connector.

Two tools:

- **Fields to drop** (`drop_fields`): a ticket or action field, by name, is removed from the records and
  from the stream's JSON schema (so `discover` no longer declares it). A custom field is named by its
  column (`cf_callback_number`) or by Halo's name (`CFcallbackNumber`); its entry in Halo's raw
  `customfields` array goes too.
- **Detectors** (`detectors`): inside free-text fields (`TICKET_TEXT_FIELDS`, `ACTION_TEXT_FIELDS`, and the
  text custom fields: their `cf_` column and their `value`/`display` in `customfields`), each finding is
  replaced by a fixed placeholder (`PLACEHOLDERS`):

  | detector | what counts | check |
  |---|---|---|
  | `email` | local@domain.tld, in text and in HTML (`mailto:`, `&lt;..&gt;`) | shape only |
  | `phone` | `+CC ...` / `00CC ...` for any country; national numbers for `phone_regions` | Google's libphonenumber (`phonenumbers`) |
  | `payment_card` | 13-19 digits, first digit 2-6, spaces or dashes between groups | Luhn |
  | `iban` | 2 capital letters, 2 check digits, grouped by 4 or not | length of the country (SWIFT registry) and mod 97 |
  | `ip_address` | IPv4 dotted quads and IPv6 (also `::1`, `fe80::1%eth0`, `::ffff:192.0.2.1`; a `:port` or `/prefix` after stays) | `ipaddress` |

How it stays fast (benchmarks/redaction.py measures a whole read; docs/haloitsm.md has the figures): a
short text (a summary, a custom field's value: up to 256 characters) is masked once per distinct text
and then taken from a cache (bounded), as summaries repeat across tickets; a record's longer texts are
joined by NUL, which no detector reads across, and scanned in one call (`idsummary`, "1234 - <summary>",
is masked with its summary). A text without `@` skips the e-mail pass, one without
`::` or seven colons the IPv6 pass, one without a digit everything else. Otherwise one regular
expression, from the first digit on, finds the numeric runs (a digit, with `+`, `(` and single
separators between digit groups); runs glued to a word or too short are dropped by the expression
itself, a run glued to two capitals is where an IBAN may start. Each run is classified in Python, once
per distinct run (cached, bounded); only a run shaped like a phone number goes to libphonenumber (about
30 us a call).

Rules that keep near misses alone (unit_tests/redaction_corpus.json holds the cases):

- Dates (2024-06-20, 20/06/2024, 20.06.2024) split a numeric run and are never masked; so are times (the
  colon is not a separator), prices (€1,234.56: the comma is not a separator) and ticket references
  attached to letters or # (INC-2024-000123, SUP-1234, #12345).
- A dotted quad is an IPv4 address unless it is a version: directly after a version word (version,
  Version, versión, versie, ver., v, build, release, firmware, patch, KB, rev...), written `v1.2.3.4`, or
  followed by a suffix (`1.2.3.4-beta`, `1.2.3.4+build`, `1.2.3.4.5`). `10.0.19045.3803` is no address
  (19045 > 255).
- A phone number in international format (`+` or `00`) is masked when its length is possible for its
  country code (so reserved/fictional ranges count too). A number in national format is masked only when
  libphonenumber finds it *valid* in one of `phone_regions`; for regions whose national prefix is 0
  (GB, DE, FR, NL, ...) it must start with that 0, and a number with no separator at all and no national
  prefix (`912345678`) is taken for an id, not a phone number. Groups separated by dots must be 2-4
  digits each (French `01.42.68.53.00`, not a version).
- Card numbers must pass Luhn and IBANs their checksum, so a card-like or IBAN-like string that fails
  them is left as it is.
- An IPv6 address must hold a digit: `a::b` and `dead::beef` are code. Times (14:45:15) and MAC addresses
  (00:1A:2B:3C:4D:5E) are not IPv6 addresses.
- Parentheses that do not pair up cut a run: in `4222222222222 (13 digits)` the card is masked alone.

What it cannot do (docs/haloitsm.md): names, postal addresses, free-form PII (a date of birth, a licence
plate), attachments (never read), text split by HTML tags (`john<b>@</b>acme.com`), obfuscated addresses
(`john at acme dot com`), numbers spelled out or split across lines, and phone numbers in national format
of a region not listed.

Logs: this module logs nothing. The CDK logs every response body at debug level (`--debug`); with
redaction on, `guard_debug_log` (installed by client.py) withholds those bodies. No other log line of the
connector carries record contents (messages about Halo's answers give status, size and content type).
"""
from __future__ import annotations

import dataclasses
import ipaddress
import logging
import re
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from source_haloitsm import endpoints

EMAIL, PHONE, CARD, IBAN, IP = "email", "phone", "payment_card", "iban", "ip_address"
DETECTORS = (EMAIL, PHONE, CARD, IBAN, IP)
PLACEHOLDERS = {EMAIL: "[email]", PHONE: "[phone]", CARD: "[card]", IBAN: "[iban]", IP: "[ip]"}
# Regions whose phone numbers in national format are recognised when the setting does not say.
DEFAULT_PHONE_REGIONS = ("GB", "US", "DE", "FR", "ES", "NL")

# Free-text fields the detectors read. Anything else (user_email, reportedby, emailfrom, who...) is a
# structured field: drop it with drop_fields.
TICKET_TEXT_FIELDS = ("summary", "details", "details_html", "idsummary", "lastnote", "action_note")
ACTION_TEXT_FIELDS = ("note", "note_html", "emailbody", "emailbody_html", "emailsubject")
# Fields a stream cannot do without (primary key, cursor).
KEPT_FIELDS = {"tickets": ("id", "last_update"), "actions": ("ticket_id", "id", "datetime")}
# Halo's custom field types holding free text (custom_fields.py): text, memo, rich text.
TEXT_CUSTOM_FIELD_TYPES = (0, 1, 10)


@dataclasses.dataclass(frozen=True)
class RedactionSettings:
    """The `redaction` setting, validated (config.py)."""

    drop_fields: Tuple[str, ...] = ()
    detectors: Tuple[str, ...] = ()
    phone_regions: Tuple[str, ...] = DEFAULT_PHONE_REGIONS

    @property
    def active(self) -> bool:
        return bool(self.drop_fields or self.detectors)


# ---- the detectors -------------------------------------------------------------------------------

# One scan finds the candidates of the IBAN, card, phone and IPv4 detectors: numeric runs, each an
# optional + or (, a digit, then digits joined by at most one separator (space, no-break space, - . /) or
# by parentheses. The first character comes from a plain set, so the regular expression engine skips
# the rest of the text fast. A run right after a digit or joining punctuation (- . + @ & # _) is none,
# so INC-2024-000123, SUP-1234 and #12345 give no candidate; a run right after a letter is part of a
# word (x0207946, v1.2.3.4), unless the word ends with the two capitals of an IBAN (DE89..., GB82WEST...).
# The engine also drops, without Python seeing them, runs glued to a lower-case letter and runs shorter
# than 7 characters (no IPv4 address, card or phone number is), unless right after a capital.
_TOKEN = re.compile(
    r"[+(0-9](?<![0-9_+\-.@&#a-z\u00df-\u00ff].)(?:(?<=[A-Z][0-9])|(?=[0-9 \u00a0\-./()+]{6}))"
    r"(?:[0-9]|[ \u00a0\-./](?=\(?[0-9])|\((?=[0-9])|\)(?=[ \u00a0\-.]?[0-9])|\+(?=\(?[0-9]))*\)?"
)
# An IBAN: two capitals, two digits, 10 to 32 capitals or digits, single spaces allowed between them.
_IBAN = re.compile(r"[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){10,32}")
_IPV4_IN_RUN = re.compile(r"(?<![0-9.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![0-9]|\.[0-9])")
_DATE_IN_RUN = re.compile(
    r"(?<![0-9])(?:[0-9]{4}[-./](?:0?[1-9]|1[0-2])[-./](?:0?[1-9]|[12][0-9]|3[01])"
    r"|(?:0?[1-9]|[12][0-9]|3[01])[-./](?:0?[1-9]|1[0-2])[-./][0-9]{4}"
    r"|(?:0?[1-9]|1[0-2])/(?:0?[1-9]|[12][0-9]|3[01])/[0-9]{4})(?![0-9])"
)
_VERSION_BEFORE = re.compile(
    r"(?:\b(?:ver|vers|version|versi[oó]n|versione|versie|build|release|firmware|fw|patch|kb|rev|r[ée]vision|"
    r"driver|bios)\.?:?\s{0,2}|\bv\.?\s?)\Z",
    re.IGNORECASE,
)
_VERSION_SUFFIX = re.compile(r"[-+~_][A-Za-z]|\.[0-9]")
# The local part of an address, read backwards from its @ (on the reversed text).
_EMAIL_LOCAL_REVERSED = re.compile(r"[\w.!#$%'*+/=?^`{|}~-]{1,64}")
_EMAIL_DOMAIN = re.compile(r"(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,63}(?![\w-])")
_IPV6 = re.compile(
    r"(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:[0-9]{1,3}\.){3}[0-9]{1,3}|[0-9A-Fa-f]{1,4})?(?:%[0-9A-Za-z]+)?"
)
_IPV6_BACK = re.compile(r"[0-9A-Fa-f:]{0,39}")  # read backwards from a colon
_HEX = frozenset("0123456789abcdefABCDEF:")
_DIGIT = re.compile(r"[0-9]")
_NOT_DIGIT = re.compile(r"[^0-9]+")
_GROUP_SEP = re.compile(r"[ \u00a0\-./()]+")

# SWIFT IBAN registry: length of the IBAN per country.
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27, "BR": 29,
    "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
    "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
    "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29,
    "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24,
    "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
    "YE": 30,
}

_CACHE_LIMIT = 50_000
# Texts up to this long are masked through RowRedactor's cache of whole texts (at most _CACHE_LIMIT of
# them, about 13 MB at worst).
SHORT_TEXT = 256


def luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def iban_ok(compact: str) -> bool:
    if IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact[2:4].isdigit():
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


class TextRedactor:
    """Masks what the chosen detectors find in one string. Thread-safe (the cache is a dict of
    immutable answers; a lost insert only costs a second look-up)."""

    def __init__(self, detectors: Iterable[str], phone_regions: Sequence[str] = DEFAULT_PHONE_REGIONS):
        chosen = set(detectors)
        unknown = chosen - set(DETECTORS)
        if unknown:
            raise ValueError(f"unknown detector(s): {sorted(unknown)}")
        self.email, self.phone, self.card = EMAIL in chosen, PHONE in chosen, CARD in chosen
        self.iban, self.ip = IBAN in chosen, IP in chosen
        self.numeric = self.phone or self.card or self.ip
        self.tokens = self.numeric or self.iban
        self._cache: Dict[str, Tuple[Tuple[int, int, str], ...]] = {}  # numeric run -> what it holds (bounded)
        if self.phone:
            import phonenumbers  # only when asked for: ~30 ms to import

            self._pn = phonenumbers
            self._regions = []
            for region in phone_regions:
                metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
                if metadata is None:
                    raise ValueError(f"unknown phone region {region!r}")
                self._regions.append((region, metadata.national_prefix == "0"))

    def __call__(self, text: str) -> str:
        spans: List[Tuple[int, int, str]] = []
        if self.email:
            at = text.find("@")
            if at > 0:
                self._emails(text, at, spans)
        if self.ip:
            colon = text.find(":")  # most texts have none: one scan
            if colon >= 0 and (text.find("::", colon) >= 0 or text.count(":", colon) >= 7):  # :: or 7 colons
                self._ipv6(text, spans)  # before IPv4: ::ffff:192.0.2.128 is one address
        if self.tokens:
            digit = _first_digit(text)
            if digit >= 0:
                self._tokens(text, max(0, digit - 2), spans)
        if not spans:
            return text
        return _apply(text, spans)

    # -- e-mail: find each @, then the local part before it and the domain after it
    def _emails(self, text: str, at: int, spans: List[Tuple[int, int, str]]) -> None:
        while at > 0:
            domain = _EMAIL_DOMAIN.match(text, at + 1)
            if domain:
                local = _EMAIL_LOCAL_REVERSED.match(text[max(0, at - 64):at][::-1])
                if local:
                    start = at - local.end()
                    while start < at and text[start] == ".":
                        start += 1
                    if start < at:
                        spans.append((start, domain.end(), PLACEHOLDERS[EMAIL]))
            at = text.find("@", at + 1)

    # -- IBANs, cards, phones and IPv4 addresses from one scan
    def _tokens(self, text: str, start: int, spans: List[Tuple[int, int, str]]) -> None:
        cache = self._cache
        numeric, ip = self.numeric, self.ip
        skip = -1  # the end of an IBAN-shaped code: its digits are no phone or card number
        for match in _TOKEN.finditer(text, start):
            at = match.start()
            if at < skip:
                continue
            if at and text[at - 1].isalpha():  # glued to a word
                if at >= 2 and "A" <= text[at - 1] <= "Z" and "A" <= text[at - 2] <= "Z" and (at == 2 or not text[at - 3].isalnum()):
                    iban = _IBAN.match(text, at - 2)
                    if iban:
                        length, valid = self._iban(iban.group())
                        skip = at - 2 + length
                        if valid and self.iban:
                            spans.append((at - 2, skip, PLACEHOLDERS[IBAN]))
                continue
            token = match.group()
            if len(token) < 7 or not numeric:
                continue  # fewer than 7 characters: no IPv4 address, card or phone number
            if ip and token.count(".") >= 3:
                self._numeric(text, token, at, spans)  # an IPv4 address depends on the words around it
                continue
            found = cache.get(token)
            if found is None:  # what the run is depends on the run alone: cached
                pieces: List[Tuple[int, int, str]] = []
                self._numeric(text, token, 0, pieces)
                found = cache[token] = tuple(pieces)
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
            for a, b, placeholder in found:
                spans.append((at + a, at + b, placeholder))

    def _numeric(self, text: str, token: str, start: int, spans: List[Tuple[int, int, str]]) -> None:
        """The IPv4 addresses, cards and phone numbers of one numeric run (`start`: where it is in `text`)."""
        pieces = [(0, len(token))]
        if "." in token or "/" in token or "-" in token:
            pieces = self._split(text, token, start, spans)
        if "(" in token or ")" in token:
            pieces = [(a + x, a + y) for a, b in pieces for x, y in _balanced(token[a:b])]
        for a, b in pieces:
            found = self._classify_new(token[a:b])
            if found:
                spans.append((start + a + found[0], start + a + found[1], found[2]))

    @staticmethod
    def _iban(raw: str) -> Tuple[int, bool]:
        """(length in `raw`, checksum right) of the IBAN `raw` starts with; (0, False) for none."""
        length = IBAN_LENGTHS.get(raw[:2])
        if length is None:
            return 0, False
        compact = raw.replace(" ", "")
        if len(compact) < length:
            return 0, False
        # The IBAN ends at its country's length; what follows may be the next word.
        end, seen = 0, 0
        for end, char in enumerate(raw, 1):
            if char != " ":
                seen += 1
                if seen == length:
                    break
        if end < len(raw) and raw[end] != " ":
            return 0, False  # a longer code of capitals and digits, not an IBAN
        return end, iban_ok(compact[:length])

    # -- IPv6: around each colon that has a hex digit or a colon next to it
    def _ipv6(self, text: str, spans: List[Tuple[int, int, str]]) -> None:
        colon = text.find(":")
        n = len(text)
        while colon >= 0:
            after = text[colon + 1] if colon + 1 < n else ""
            before = text[colon - 1] if colon else ""
            if (after in _HEX and after) or (before in _HEX and before):
                back = _IPV6_BACK.match(text[max(0, colon - 39):colon][::-1])
                start = colon - (back.end() if back else 0)
                match = _IPV6.match(text, start)
                if match and match.end() > colon:
                    end = match.end()
                    if (start == 0 or not _word_or_dot(text[start - 1])) and (end == n or not _after_ipv6(text, end)):
                        value = match.group()
                        if value.count(":") >= 2 and _DIGIT.search(value):  # a::b, dead::beef: code, not addresses
                            try:
                                ipaddress.IPv6Address(value.split("%", 1)[0])
                                spans.append((start, end, PLACEHOLDERS[IP]))
                            except ValueError:
                                pass
                    colon = text.find(":", max(end, colon + 1))
                    continue
            colon = text.find(":", colon + 1)

    def _split(self, text: str, run: str, start: int, spans: List[Tuple[int, int, str]]) -> List[Tuple[int, int]]:
        """Takes the dates and IPv4 addresses out of a run; what is left, in pieces, may still hold a card
        or a phone number."""
        cuts: List[Tuple[int, int]] = []
        for match in _DATE_IN_RUN.finditer(run):
            cuts.append(match.span())
        if self.ip and run.count(".") >= 3:
            for match in _IPV4_IN_RUN.finditer(run):
                a, b = match.span()
                if any(a < y and x < b for x, y in cuts):
                    continue
                cuts.append((a, b))
                if self._is_ipv4(text, start + a, start + b, match.group()):
                    spans.append((start + a, start + b, PLACEHOLDERS[IP]))
        if not cuts:
            return [(0, len(run))]
        cuts.sort()
        pieces, at = [], 0
        for a, b in cuts:
            if a > at:
                pieces.append((at, a))
            at = max(at, b)
        if at < len(run):
            pieces.append((at, len(run)))
        return pieces

    @staticmethod
    def _is_ipv4(text: str, a: int, b: int, value: str) -> bool:
        if _VERSION_SUFFIX.match(text, b):
            return False  # 1.2.3.4-beta, 1.2.3.4+build, 1.2.3.4.5
        if _VERSION_BEFORE.search(text, max(0, a - 24), a):
            return False  # Version 1.2.3.4, build 10.0.0.1, v1.2.3.4
        try:
            ipaddress.IPv4Address(value)
        except ValueError:
            return False
        return True

    def _classify_new(self, piece: str) -> Tuple[Any, ...]:
        """() or (start, end, placeholder) of the card or phone number in a piece of a numeric run."""
        at = 0
        # trim separators and unbalanced parentheses left at the edges by a cut
        lead = len(piece) - len(piece.lstrip(" \u00a0-./)"))
        piece = piece[lead:].rstrip(" \u00a0-./(")
        if not piece:
            return ()
        if piece.endswith(")") and piece.count("(") < piece.count(")"):
            piece = piece[:-1]
        elif piece[0] == "(" and piece[-1] == ")" and piece.count("(") == 1 == piece.count(")"):
            piece, lead = piece[1:-1], lead + 1  # (+33 1 42 68 53 00): the number inside its parentheses
        at += lead
        digits = _NOT_DIGIT.sub("", piece)
        n = len(digits)
        if n < 7:
            return ()
        if self.card and 13 <= n <= 19 and "2" <= digits[0] <= "6" and _card_shaped(piece) and luhn_ok(digits):
            return (at, at + len(piece), PLACEHOLDERS[CARD])
        if self.phone and n <= 17 and self._is_phone(piece, digits):
            return (at, at + len(piece), PLACEHOLDERS[PHONE])
        return ()

    def _is_phone(self, piece: str, digits: str) -> bool:
        pn = self._pn
        if "." in piece and "-" not in piece and " " not in piece:
            groups = [g for g in _GROUP_SEP.split(piece.lstrip("+(")) if g]
            if any(not 2 <= len(g) <= 4 for g in groups[1:]):
                return False  # 10.0.19045.3803: a version, not 01.42.68.53.00
        plain = piece.lstrip("(")
        if plain.startswith("+") or plain.startswith("00"):
            number = "+" + (digits[2:] if plain.startswith("00") else digits)
            if not 8 <= len(number) - 1 <= 15:
                return False
            try:
                parsed = pn.parse(number, None)
            except pn.NumberParseException:
                return False
            return pn.is_possible_number(parsed) and pn.region_code_for_country_code(parsed.country_code) != "ZZ"
        if piece.isdigit() and not digits.startswith("0"):
            return False  # 912345678 with no separator and no national prefix: an id more likely
        if len(digits) > 13:
            return False
        for region, zero_prefix in self._regions:
            if zero_prefix and not digits.startswith("0"):
                continue
            try:
                parsed = pn.parse(piece, region)
            except pn.NumberParseException:
                continue
            if pn.is_valid_number(parsed):
                return True
        return False


def _first_digit(text: str) -> int:
    """Where the first ASCII digit is, or -1. For a long text ten substring searches in C beat the
    regular expression (which steps through a text with non-ASCII characters slowly); for a short one
    the expression is quicker."""
    if len(text) < 200:
        match = _DIGIT.search(text)
        return match.start() if match else -1
    first = -1
    for digit in "0123456789":
        at = text.find(digit, 0, first if first >= 0 else len(text))
        if at >= 0:
            first = at
    return first


def _word_or_dot(char: str) -> bool:
    return char.isalnum() or char in "_.:"


def _after_ipv6(text: str, end: int) -> bool:
    """Whether what follows a candidate IPv6 address makes it part of something longer."""
    char = text[end]
    return char.isalnum() or char in "_:" or (char == "." and end + 1 < len(text) and text[end + 1].isdigit())


def _balanced(piece: str) -> List[Tuple[int, int]]:
    """A piece cut at parentheses that do not pair up: `4222222222222 (13` is a number and the start of a
    remark, `(0)20 7946 0958` and `(415) 867-5309` stay whole."""
    cuts, open_at = [], None
    for i, char in enumerate(piece):
        if char == "(":
            if open_at is not None:
                cuts.append(open_at)
            open_at = i
        elif char == ")":
            if open_at is None:
                cuts.append(i + 1)
            open_at = None
    if open_at is not None:
        cuts.append(open_at)
    if not cuts:
        return [(0, len(piece))]
    bounds = [0] + sorted(set(cuts)) + [len(piece)]
    return [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]


def _card_shaped(piece: str) -> bool:
    """Digits alone, or groups separated by single spaces or by single dashes (not both)."""
    if piece.isdigit():
        return True
    spaces, dashes = " " in piece, "-" in piece
    if spaces == dashes:
        return False
    separator = " " if spaces else "-"
    groups = piece.split(separator)
    return all(g.isdigit() and 1 <= len(g) <= 6 for g in groups)


def _apply(text: str, spans: List[Tuple[int, int, str]]) -> str:
    """The text with each span replaced; where spans overlap, the earlier found (by detector order:
    e-mail, IPv6, then IBANs, IPv4, cards and phone numbers in text order) wins."""
    if len(spans) == 1:
        a, b, placeholder = spans[0]
        return text[:a] + placeholder + text[b:]
    out, at = [], 0
    for a, b, placeholder in sorted(spans):
        if a < at:
            break  # spans overlap: resolved below
        out.append(text[at:a])
        out.append(placeholder)
        at = b
    else:
        out.append(text[at:])
        return "".join(out)
    taken: List[Tuple[int, int, str]] = []
    for span in spans:
        if not any(span[0] < b and a < span[1] for a, b, _ in taken):
            taken.append(span)
    taken.sort()
    out, at = [], 0
    for a, b, placeholder in taken:
        out.append(text[at:a])
        out.append(placeholder)
        at = b
    out.append(text[at:])
    return "".join(out)


# ---- records and schemas -------------------------------------------------------------------------


def _scope(stream: Any) -> Optional[str]:
    endpoint = getattr(stream, "endpoint", None)
    if endpoint is endpoints.TICKETS:
        return "tickets"
    if endpoint is endpoints.ACTIONS:
        return "actions"
    return None


def drop_column(name: str) -> str:
    """A custom field named as Halo names it (CFcallbackNumber) -> its column (cf_callback_number)."""
    if len(name) > 2 and name[:2] == "CF" and not name[2:3] == "_":
        from source_haloitsm.custom_fields import column_name

        return column_name(name)
    return name


class RowRedactor:
    """Drops and masks in one record of one stream, in place."""

    def __init__(self, settings: RedactionSettings, scope: str, custom: Sequence[Any] = ()):
        drop = {drop_column(name) for name in settings.drop_fields}
        self.drop = tuple(sorted(drop))
        self.mask: Optional[Callable[[str], str]] = (
            TextRedactor(settings.detectors, settings.phone_regions) if settings.detectors else None
        )
        text_fields = TICKET_TEXT_FIELDS if scope == "tickets" else ACTION_TEXT_FIELDS
        custom = tuple(custom) if scope == "tickets" else ()
        self.text_fields = tuple(f for f in text_fields if f not in drop and f != "idsummary")
        self.custom_columns = tuple(f.column for f in custom if f.type in TEXT_CUSTOM_FIELD_TYPES and f.column not in drop)
        # `idsummary` is "1234 - <summary>": masked as the summary is. Another shape is scanned last: it
        # starts with digits, and the scan for numbers starts at the first digit of the row's texts.
        self.last_field = "idsummary" if "idsummary" in text_fields and "idsummary" not in drop else None
        self.drop_custom_ids = frozenset(f.id for f in custom if f.column in drop)
        self.text_custom_ids = frozenset(f.id for f in custom if f.type in TEXT_CUSTOM_FIELD_TYPES)
        self.known_custom_ids = frozenset(f.id for f in custom)
        self.custom = bool(custom)  # the cf_ columns, and Halo's `customfields` array unless dropped
        self._short: Dict[str, str] = {}  # short text -> masked (bounded; thread-safe as TextRedactor's cache)

    def __call__(self, row: Dict[str, Any]) -> Dict[str, Any]:
        for name in self.drop:
            if name in row:
                del row[name]
        mask = self.mask
        if mask is None:
            if self.drop_custom_ids:
                self._custom_entries(row, None)
            return row
        # Every text of the row is masked in one pass over them joined by NUL, which no detector reads
        # across: one call instead of one per field (the calls cost more than the scanning).
        keys: List[str] = []  # the row's fields whose texts are texts[:len(keys)]
        texts: List[str] = []
        get = row.get
        for name in self.text_fields:
            value = get(name)
            if value.__class__ is str and value:
                keys.append(name)
                texts.append(value)
        slots: List[Tuple[Dict[str, Any], str, int]] = []  # custom field entries: (entry, key, index in texts)
        if self.custom:
            custom_start = len(texts)
            for name in self.custom_columns:
                value = get(name)
                if value.__class__ is str and value:
                    keys.append(name)
                    texts.append(value)
            self._custom_entries(row, (slots, texts, custom_start))
        name = self.last_field
        derived = None
        if name is not None:
            value = get(name)
            if value.__class__ is str and value:
                summary = get("summary")
                prefix = value[: len(value) - len(summary)] if summary.__class__ is str and summary and value.endswith(summary) else ""
                if prefix[-3:] == " - " and prefix[:-3].isdigit():
                    derived = prefix  # "1234 - <summary>": masked with the summary, not scanned again
                else:
                    keys.append(name)
                    texts.append(value)
        if not texts:
            return row
        parts = self._mask_texts(texts)
        if parts is None:
            return row  # nothing found
        for key, old, new in zip(keys, texts, parts):
            if new != old:
                row[key] = new
        for where, key, index in slots:
            new = parts[index]
            if new != texts[index]:
                where[key] = new
        if derived is not None:
            row[name] = derived + row["summary"]
        return row

    def _mask_texts(self, texts: List[str]) -> Optional[List[str]]:
        """The texts masked, or None when nothing was found in any. Short texts come from the cache of
        whole texts (or go into it); the longer ones are scanned in one call, joined by NUL."""
        mask, short = self.mask, self._short
        parts: Optional[List[str]] = None
        long_ones: List[int] = []
        for index, text in enumerate(texts):
            if len(text) > SHORT_TEXT:
                long_ones.append(index)
                continue
            new = short.get(text)
            if new is None:
                new = mask(text)
                if len(short) >= _CACHE_LIMIT:
                    short.clear()
                short[text] = new
            if new != text:
                if parts is None:
                    parts = list(texts)
                parts[index] = new
        if not long_ones:
            return parts
        if len(long_ones) == 1:
            index = long_ones[0]
            found = [mask(texts[index])]
        else:
            joined = "\x00".join([texts[i] for i in long_ones])
            out = mask(joined)
            found = out.split("\x00")
            if len(found) != len(long_ones):  # a text held NUL itself
                found = [mask(texts[i]) for i in long_ones]
        for index, new in zip(long_ones, found):
            if new != texts[index]:
                if parts is None:
                    parts = list(texts)
                parts[index] = new
        return parts

    def _custom_entries(self, row: Dict[str, Any], collect: Optional[Tuple[List[Tuple[Dict[str, Any], str, int]], List[str], int]]) -> None:
        """Drops the dropped custom fields' entries from `customfields`; with `collect` (slots, texts),
        adds the text fields' value and display to the texts to mask, each text once (a text field's
        value is also its `cf_` column, and its display is usually the same text)."""
        entries = row.get("customfields")
        if entries.__class__ is not list or not entries:
            return
        if self.drop_custom_ids:
            entries = row["customfields"] = [
                e for e in entries if not (e.__class__ is dict and e.get("id") in self.drop_custom_ids)
            ]
        if collect is None:
            return
        slots, texts, custom_start = collect
        seen: Optional[Dict[str, int]] = None
        text_ids, known_ids = self.text_custom_ids, self.known_custom_ids
        for entry in entries:
            if entry.__class__ is not dict:
                continue
            field_id = entry.get("id")
            if field_id in text_ids or (field_id not in known_ids and entry.get("type") in TEXT_CUSTOM_FIELD_TYPES):
                for key in ("value", "display"):
                    value = entry.get(key)
                    if value.__class__ is str and value:
                        if seen is None:  # the custom columns' texts (not the long details)
                            seen = {}
                            for index in range(custom_start, len(texts)):
                                seen.setdefault(texts[index], index)
                        index = seen.get(value)
                        if index is None:
                            index = seen[value] = len(texts)
                            texts.append(value)
                        slots.append((entry, key, index))


def wrap(normalize: Callable[[Dict[str, Any]], Dict[str, Any]], stream: Any) -> Callable[[Dict[str, Any]], Dict[str, Any]]:
    """The stream's per-row transform followed by the redaction its configuration asks for (or the
    transform itself when there is nothing to redact in this stream)."""
    settings: RedactionSettings = stream.context.config.redaction
    scope = _scope(stream)
    if scope is None or not settings.active:
        return normalize
    redact = RowRedactor(settings, scope, getattr(stream.context, "custom_fields", ()))
    return lambda row: redact(normalize(row))


def schema(json_schema: Mapping[str, Any], stream: Any) -> Mapping[str, Any]:
    """The stream's JSON schema without the dropped fields (a copy; the schema itself is shared)."""
    settings: RedactionSettings = stream.context.config.redaction
    if _scope(stream) is None or not settings.drop_fields:
        return json_schema
    key = (id(json_schema), settings.drop_fields)
    cached = _SCHEMAS.get(key)
    if cached is not None and cached[0] is json_schema:
        return cached[1]
    drop = {drop_column(name) for name in settings.drop_fields}
    properties = json_schema.get("properties") or {}
    result = json_schema
    if drop & set(properties):
        result = {**json_schema, "properties": {k: v for k, v in properties.items() if k not in drop}}
    if len(_SCHEMAS) > 256:
        _SCHEMAS.clear()
    _SCHEMAS[key] = (json_schema, result)
    return result


_SCHEMAS: Dict[Tuple[int, Tuple[str, ...]], Tuple[Mapping[str, Any], Mapping[str, Any]]] = {}


class _DebugBodyFilter(logging.Filter):
    """The CDK logs each response body at debug level ("Receiving response"): with redaction on, the
    body (raw records) is withheld."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno <= logging.DEBUG and hasattr(record, "body") and record.msg == "Receiving response":
            record.body = "[withheld: redaction is on]"
        return True


def guard_debug_log(settings: RedactionSettings, logger: logging.Logger) -> None:
    if settings.active and not any(isinstance(f, _DebugBodyFilter) for f in logger.filters):
        logger.addFilter(_DebugBodyFilter())
