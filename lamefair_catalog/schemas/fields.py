"""Field types of the API's request bodies: lengths and characters each kind of text may hold.

Why a module of its own: the same limits bind the database columns (database/models.py) and the
API, from the constants in shared.py, so the API refuses with a 422 naming the field what PostgreSQL would
otherwise refuse with an error (a 500): strings longer than a varchar column, and NUL, which no
PostgreSQL text column can hold. SQLite stores both, so only PostgreSQL showed the gap.

Numbers and booleans are strict: JSON `"10"` or `true` is not a size, `1` is not a boolean. A
client sending them has a bug that lax coercion would hide.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
)

from lamefair_catalog.shared import (
    FORM_LENGTH,
    INSTRUMENT_PAIR_LENGTH,
    LONG_TEXT_LENGTH,
    NAME_LENGTH,
    NUMBER_LENGTH,
    REPORT_LENGTH,
    TITLE_LENGTH,
    check_text,
)


def _line(text: str) -> str:
    return check_text(text)


def _text(text: str) -> str:
    return check_text(text, multi_line=True)


Line = AfterValidator(_line)  # one line: no control characters at all
MultiLine = AfterValidator(_text)  # tab and line breaks allowed

Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_LENGTH), Line
]
PersonName = Annotated[str, StringConstraints(max_length=NAME_LENGTH), Line]
ProposalNumber = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=NUMBER_LENGTH), Line
]
Title = Annotated[str, StringConstraints(max_length=TITLE_LENGTH), Line]
Identifier = Annotated[str, StringConstraints(max_length=NAME_LENGTH), Line]
PhysicalForm = Annotated[str, StringConstraints(max_length=FORM_LENGTH), Line]
AtomType = Annotated[str, StringConstraints(max_length=3), Line]
InstrumentPair = Annotated[
    str, StringConstraints(min_length=1, max_length=INSTRUMENT_PAIR_LENGTH), Line
]
LongText = Annotated[str, StringConstraints(max_length=LONG_TEXT_LENGTH), MultiLine]
Report = Annotated[str, StringConstraints(max_length=REPORT_LENGTH), MultiLine]
# Why a client gave up an upload: kept as the file's error.
Reason = Annotated[str, StringConstraints(max_length=2000), MultiLine]
ETag = Annotated[str, StringConstraints(min_length=1, max_length=200), Line]
ObjectKey = Annotated[str, StringConstraints(min_length=1, max_length=1024), Line]
# File paths get their characters checked by shared.sanitize_relative_path, with a path's message.
FilePath = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
Sha256Hex = Annotated[
    str, StringConstraints(pattern=r"^[0-9a-f]{64}$", min_length=64, max_length=64)
]

FileSize = Annotated[StrictInt, Field(ge=0, le=5 * 1024**4)]  # S3's 5 TiB object limit
DerivedSize = Annotated[StrictInt, Field(ge=0, le=5 * 1024**3)]  # single PUT limit of S3
PartNumber = Annotated[StrictInt, Field(ge=1, le=10_000)]
Flag = StrictBool


class Body(BaseModel):
    """A request body: unknown fields are refused (a typo must not be dropped silently)."""

    model_config = ConfigDict(extra="forbid")
