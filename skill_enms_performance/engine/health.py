"""Health: database reachable, newest reading per machine, rollup freshness, and the validity of
each SEU's baseline model (what an operator checks before trusting the answers)."""
from __future__ import annotations

import datetime as dt
from typing import Callable

from ..store import SeuRow
from .baseline import BaselineModel
from .catalogue import Catalogue
from .errors import DatabaseUnavailableError, EnmsError, TimeoutError_
from .series import Series
from .timeutil import local_today


async def health(catalogue: Catalogue, series: Series, now_fn: Callable[[], dt.datetime]) -> dict[str, object]:
    """Database reachable, newest reading per machine, rollup freshness, model validity per SEU."""
    store, guard = series.store, series.guard
    try:
        version = await guard(store.ping())
        seus = await catalogue.seus(refresh=True)
        mode = await series.mode()
        machines = await guard(store.newest_readings())
        freshness = await guard(store.rollup_freshness()) if mode == "rollup" else {}
    except EnmsError as err:
        return {"database_reachable": False, "error": err.to_dict(), "dsn": store.dsn_redacted}
    now = now_fn()
    models = []
    for seu in seus:
        try:
            model = await current_baseline(series, seu, now, mode)
            models.append({"seu_name": seu.name, "energy_source": seu.energy_source, "method": model.method,
                           "drivers": list(model.drivers), "verdict": model.validity.verdict,
                           "valid": model.validity.valid, "cv_rmse": round(model.cv_rmse, 4),
                           "r2": round(model.r2, 4), "n": model.n, "reasons": list(model.validity.reasons)})
        except EnmsError as err:
            models.append({"seu_name": seu.name, "energy_source": seu.energy_source, "error": err.to_dict()})
    return {
        "database_reachable": True, "server_version": version, "mode": mode,
        "dsn": store.dsn_redacted, "seu_count": len(seus),
        "rollups": {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in freshness.items()},
        "machines": [{"name": m["name"], "factory": m["factory"], "type": m["type"],
                      "newest_reading": m["newest"].isoformat() if m["newest"] else None,
                      "minutes_since_newest": round((now - m["newest"]).total_seconds() / 60, 1)
                      if m["newest"] else None} for m in machines],
        "models": models,
        "checked_at": now.isoformat(),
    }


async def current_baseline(series: Series, seu: SeuRow, now: dt.datetime, mode: str) -> BaselineModel:
    """The SEU's baseline of the days up to yesterday (what health reports), fitted in a compute thread unless
    the caches hold it (then read on the loop: 500 trips to the compute threads, each behind any fit another
    question queued there, held a warm health check for seconds)."""
    yesterday = local_today(now, seu.timezone) - dt.timedelta(days=1)
    first, last = series.baseline_period(yesterday + dt.timedelta(days=1))
    fit = await series.history(seu, (first, last), (first, last), mode)
    return (fit if fit.is_fitted() else await fit.fit()).model


async def fit_ahead(catalogue: Catalogue, series: Series, now_fn: Callable[[], dt.datetime]) -> int:
    """Every SEU's ``current_baseline``, one after the other (one compute thread at a time: questions keep the
    other); how many are fitted. An SEU that cannot have one is passed over; a database that is away ends it."""
    seus = await catalogue.seus()
    mode = await series.mode()
    fitted = 0
    for seu in seus:
        try:
            await current_baseline(series, seu, now_fn(), mode)
            fitted += 1
        except (DatabaseUnavailableError, TimeoutError_):
            break
        except EnmsError:
            continue
    return fitted
