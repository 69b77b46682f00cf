"""Dependencies of the opinion and standards routes: today's date, who may see what, the
opinion named in the path, the suggester — and the request models the two routers share.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from api import crud_opinions
from api.deps import CurrentUser, Db, User
from api.models import OpinionRow
from api.problems import ApiProblem
from geoplan.exceptions import InputError
from geoplan.operations.classifier import Suggester, train
from geoplan.operations.opinion_corpus import load_corpus
from geoplan.operations.opinions import ImportRowsError

_SHANGHAI = ZoneInfo("Asia/Shanghai")
_train_lock = threading.Lock()
OpinionId = Annotated[str, Path(min_length=1, max_length=64, description="Opinion id")]
#: A calendar day the offices can mean (the working-day calendar needs a bounded range).
Day = Annotated[dt.date, Field(ge=dt.date(2000, 1, 1), le=dt.date(2100, 12, 31))]
#: ``YYYYQn``.
QUARTER_PATTERN = r"^(19|20|21)\d{2}Q[1-4]$"


def today() -> dt.date:
    """Today in Asia/Shanghai (the offices' calendar day)."""
    return dt.datetime.now(_SHANGHAI).date()


def may_view(user: User, county: str | None) -> bool:
    """City planners see everything; county planners their county; the service account no planner data."""
    return user.role == "city_planner" or (user.role == "county_planner" and county == user.county_code)


def require_view(user: User, county: str | None, what: str) -> None:
    """403 unless ``user`` may read ``county`` (None = the whole city)."""
    if not may_view(user, county):
        where = f"county {county}" if county else "the whole city"
        raise ApiProblem(403, f"{user.role} {user.name!r} may not read {what} of {where}", kind="forbidden")


def opinion_row(opinion_id: OpinionId, db: Db, user: CurrentUser) -> OpinionRow:
    """The opinion in the path if the user may see it; 404 otherwise — also for another's, so ids cannot be probed."""
    row = crud_opinions.opinion(db, opinion_id)
    if row is None or not (may_view(user, row.county_code)
                           or (user.role == "service" and row.submitter_role == "service"
                               and row.submitted_by == user.name)):
        raise ApiProblem(404, f"unknown opinion id {opinion_id!r}", field="path.opinion_id", kind="unknown-id")
    return row


OpinionDep = Annotated[OpinionRow, Depends(opinion_row)]


def suggester(request: Request) -> Suggester:
    """The app's suggester, trained once on the bundled corpus on first use (kept on ``app.state``)."""
    with _train_lock:
        s = getattr(request.app.state, "opinion_suggester", None)
        if s is None:
            s = request.app.state.opinion_suggester = train(load_corpus())
        return s


SuggesterDep = Annotated[Suggester, Depends(suggester)]


class FileUpload(BaseModel):
    """A CSV or Excel file, base64-encoded (the API accepts JSON bodies only)."""

    model_config = ConfigDict(extra="forbid")

    filename: str = Field(min_length=1, max_length=200, pattern=r"(?i)\.(csv|xlsx)$")
    content_base64: str = Field(min_length=1)

    def data(self) -> bytes:
        """The decoded file; 422 naming ``body.content_base64`` if it is not base64."""
        try:
            return base64.b64decode(self.content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise ApiProblem(422, "content_base64 is not valid base64", field="body.content_base64",
                             kind="validation-error") from None


@contextmanager
def import_rejected() -> Iterator[None]:
    """Turn a rejected CSV/Excel import into a 422 that names every bad row (file, row, field, rule)."""
    try:
        yield
    except ImportRowsError as exc:
        raise ApiProblem(422, str(exc), kind="import-rejected",
                         errors=[{"field": f"{p.file} row {p.row}.{p.field}", "message": p.rule, "type": "invalid-row"}
                                 for p in exc.problems]) from None
    except InputError as exc:
        raise ApiProblem(422, str(exc), field="body.content_base64", kind="import-rejected") from None
