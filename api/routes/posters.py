"""A station's A4 poster (亮数字身份) as PDF: planners get the deputies' QR codes, other roles the station's only."""
from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from api import crud
from api.deps import Ctx, CurrentUser, Db, NoStore, StationDep
from api.operations import compute_off_thread, network_inputs, stored_days
from api.problems import ApiProblem, responses

router = APIRouter(tags=["posters"])
PDF = "application/pdf"


@router.get("/stations/{station_id}/poster.pdf", summary="A station's printable poster with QR codes (PDF)",
            description="Station name and tier, town, conveners and the liaison-officer slot, the next reception "
                        "days (newest stored rota, else the default calendar) and QR codes to the portal "
                        "(GEOPLAN_PORTAL_URL_TEMPLATE / GEOPLAN_STATION_URL_TEMPLATE). Deputies' ids and QR codes "
                        "are printed only for roles that see the station's county's deputies. Chinese text with the font embedded.",
            responses={200: {"content": {PDF: {}}}, **responses(401, 404, 422, 503)})
def station_poster(station: StationDep, ctx: Ctx, db: Db, user: CurrentUser, _: NoStore,
                   after: Annotated[dt.date | None, Query(description="Reception days from this date (default today)")]
                   = None) -> Response:
    """A station's printable poster (PDF): details, conveners, next reception days and QR codes."""
    from geoplan.operations.posters import calendar_footnote, poster_items, render_posters
    from geoplan.operations.qr import PortalTemplates
    from geoplan.operations.reception import reception_days

    station_id, county = station.id, station.county_code
    start = after or dt.date.today()
    ds, a = network_inputs(ctx, db)
    if station_id not in set(a.stations["id"]):
        raise ApiProblem(404, f"station {station_id} is not active: it has no poster", field="path.station_id",
                         kind="unknown-id")
    days, rota_id = stored_days(db, station_id, county, None)
    notes: list[str] = list(crud.reception_rota(db, rota_id).summary.get("notes", [])) if rota_id else []
    if not len(days) or not (days["date"] >= start).any():
        days, notes = reception_days(ds, a, [start.year, start.year + 1], county=county)
    items = poster_items(ds, a, days=days, after=start, station_ids=[station_id])
    try:
        templates = PortalTemplates()
    except ValueError as exc:
        raise ApiProblem(503, f"portal address templates are misconfigured: {exc}", kind="unavailable") from None
    show = user.sees_deputies_of(county)
    pdf = compute_off_thread(ctx, ("operations.poster", ctx.view(db).version, station_id, start, show, rota_id,
                                   templates.model_dump_json()),
                             lambda: render_posters(items, templates=templates, include_deputies=show,
                                                    title=items[0].name, footnote=calendar_footnote(notes)))
    return Response(pdf, media_type=PDF, headers={"Content-Disposition": f'inline; filename="{station_id}.pdf"'})
