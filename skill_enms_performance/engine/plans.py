"""Action plans (ISO 50001 clause 6.2) built from an opportunity: objective and target, the
problem with its evidence, root causes, actions, expected outcomes, monitoring and verification.
``build_plan`` is pure; ``action_plan``, ``action_plans`` and ``set_status`` add the store calls that keep plans."""
from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Awaitable, Callable

from .baseline import BaselineModel
from .errors import InvalidRequestError, NoOpportunityError, ReadOnlyDatabaseError
from .models import PLAN_STATUSES, ActionPlan, ImplementationEffort, ImprovementType, Opportunity, OpportunityReport
from .timeutil import local_today

#: days from the plan to the target deadline, by implementation effort
DEADLINE_DAYS = {ImplementationEffort.LOW: 30, ImplementationEffort.MEDIUM: 90, ImplementationEffort.HIGH: 180}


def _actions(opportunity: Opportunity, machine_type: str) -> tuple[list[str], list[dict[str, str]]]:
    kind = opportunity.improvement_type
    effort = opportunity.implementation_effort.value
    if kind is ImprovementType.EXCESSIVE_IDLE:
        return (["The machine keeps running unloaded after production stops (no automatic shutdown)",
                 "Shift hand-over does not include switching off idle equipment"],
                [{"what": "Add an automatic shutdown or standby after a set idle time (PLC timer or interlock "
                          "with the production line)", "who": "Controls technician", "resources": "PLC change, 2-4 h",
                  "effort": effort},
                 {"what": "Add 'switch off idle equipment' to the end-of-shift checklist", "who": "Production supervisor",
                  "resources": "Checklist update, briefing", "effort": "low"}])
    if kind is ImprovementType.EQUIPMENT_DEGRADATION and machine_type == "compressor":
        return (["Compressed-air leaks (fittings, hoses, couplings, drains)", "Pressure set-point raised to compensate"],
                [{"what": "Leak survey with an ultrasonic detector; tag and repair leaks, largest first",
                  "who": "Maintenance", "resources": "Ultrasonic leak detector, 1-2 days, spare fittings", "effort": effort},
                 {"what": "Check pressure set-point and condensate drains after repair", "who": "Maintenance",
                  "resources": "2 h", "effort": "low"}])
    if kind is ImprovementType.EQUIPMENT_DEGRADATION and machine_type == "hvac":
        return (["Stuck damper or valve, failed sensor, or simultaneous heating and cooling",
                 "Set-points or schedules changed"],
                [{"what": "Inspect dampers, valves and temperature sensors; check for simultaneous heating and cooling",
                  "who": "Facility technician", "resources": "BMS trend review, 1 day", "effort": effort},
                 {"what": "Restore set-points and schedules to the documented values", "who": "Facility manager",
                  "resources": "BMS access", "effort": "low"}])
    if kind is ImprovementType.INEFFICIENT_SCHEDULING:
        return (["The equipment runs outside the production schedule"],
                [{"what": "Align the equipment schedule with the production plan; standby outside working hours",
                  "who": "Production planning", "resources": "Schedule change", "effort": effort}])
    return (["Normalised consumption rose persistently: wear, fouling or a changed operating point"],
            [{"what": f"Inspect {opportunity.seu_name} and repair what causes the rise", "who": "Maintenance",
              "resources": "Inspection, 1 day", "effort": effort}])


def build_plan(opportunity: Opportunity, model: BaselineModel, machine_type: str, today: dt.date,
               now: dt.datetime) -> ActionPlan:
    excess_per_day = opportunity.estimated_savings_kwh_per_week / 7.0
    typical = float(model.predict(model.typical).expected_kwh)
    root_causes, actions = _actions(opportunity, machine_type)
    deadline = today + dt.timedelta(days=DEADLINE_DAYS.get(opportunity.implementation_effort, 90))
    return ActionPlan(
        id=None, seu_name=opportunity.seu_name, energy_source=opportunity.energy_source,
        issue_type=opportunity.improvement_type, status="draft",
        objective=f"Remove the {excess_per_day:.0f} kWh a day that {opportunity.seu_name} uses above its "
                  f"normalised baseline (problem: {opportunity.title})",
        target={"enpi": "normalised daily energy at typical production, weather and calendar", "unit": "kWh/day",
                "baseline_value": round(typical + excess_per_day, 1), "target_value": round(typical, 1),
                "deadline": deadline.isoformat()},
        problem={"description": opportunity.title, "evidence": opportunity.evidence,
                 "start_date": opportunity.start_date.isoformat() if opportunity.start_date else None,
                 "details": opportunity.details},
        root_causes=root_causes, actions=actions,
        expected_outcomes={"energy_kwh_per_year": round(opportunity.estimated_savings_kwh_per_week * 52.18, 0),
                           "cost_per_year": opportunity.estimated_savings_per_year,
                           "currency": opportunity.currency, "co2_kg_per_year": opportunity.co2_kg_per_year,
                           "roi_months": opportunity.expected_roi_months},
        monitoring={"enpi": "daily energy minus the normalised baseline (kWh/day)", "frequency": "daily, reviewed weekly",
                    "method": f"CUSUM of (expected - actual) against the normalised baseline ({model.method}, "
                              f"CV(RMSE) {100 * model.cv_rmse:.1f}%, drivers: {', '.join(model.drivers) or 'none'})",
                    "verification": "savings count as verified when the CUSUM has risen for at least 4 weeks and "
                                    "the fractional savings uncertainty at 68% is below 50% (ASHRAE Guideline 14)"},
        created_at=now)


async def action_plan(catalogue, series, opportunities: Callable[..., Awaitable[OpportunityReport]],
                      now: Callable[[], dt.datetime], seu: str, issue_type: str | None = None, save: bool = False,
                      status: str | None = None) -> ActionPlan:
    """An ISO 50001 action plan for the SEU's top opportunity (or the one of ``issue_type``).

    Saved (``save``) as the open plan of that SEU and issue: a repeated save updates it rather than adding
    another; ``status`` None keeps an open plan's status (a new plan is planned)."""
    if issue_type is not None and issue_type not in {t.value for t in ImprovementType}:
        raise InvalidRequestError(f"issue_type must be one of {', '.join(t.value for t in ImprovementType)}")
    if status is not None and status not in PLAN_STATUSES:
        raise InvalidRequestError(f"status must be one of {', '.join(PLAN_STATUSES)}")
    report = await opportunities("quarter", seu=seu)
    candidates = [o for o in report.opportunities if o.ongoing and
                  (issue_type is None or o.improvement_type.value == issue_type)]
    target = await catalogue.find_seu_any_source(seu)
    if not candidates:
        raise NoOpportunityError(target.name, issue_type)
    top = candidates[0]
    row = next(s for s in await catalogue.seus() if s.name == top.seu_name and s.energy_source == top.energy_source)
    today = local_today(now(), row.timezone)
    first, last = series.baseline_period(today)
    mode = await series.mode()
    model = (await (await series.history(row, (first, last), (first, last), mode)).fit()).model
    plan = build_plan(top, model, row.machine_types[0] if row.machine_types else "", today, now())
    if save:
        if mode != "rollup":
            raise ReadOnlyDatabaseError("saving an action plan")
        plan.id = str(uuid.uuid4())
        plan.id, plan.status, _ = await series.guard(series.store.save_action_plan(
            plan.id, plan.seu_name, plan.energy_source, plan.issue_type.value, status,
            json.dumps(plan.to_dict())))
    return plan


async def action_plans(series, status: str | None = None, seu: str | None = None, limit: int = 20,
                       offset: int = 0) -> dict[str, object]:
    """One page of saved plans (most recently updated first), how many match (``total``) and the count of
    every plan per status."""
    if status is not None and status not in PLAN_STATUSES:
        raise InvalidRequestError(f"status must be one of {', '.join(PLAN_STATUSES)}")
    if await series.mode() != "rollup":
        raise ReadOnlyDatabaseError("action plans")
    rows, total = await series.guard(series.store.list_action_plans(status, seu, limit, offset))
    counts = await series.guard(series.store.count_action_plans())
    return {"plans": [{"id": str(r["id"]), "seu_name": r["seu_name"], "energy_source": r["energy_source"],
                       "issue_type": r["issue_type"], "status": r["status"],
                       "created_at": r["created_at"].isoformat(), "updated_at": r["updated_at"].isoformat(),
                       "plan": json.loads(r["plan"])} for r in rows],
            "total": total, "limit": limit, "offset": offset,
            "counts": {k: counts.get(k, 0) for k in PLAN_STATUSES}}


async def set_status(series, plan_id: str, status: str) -> bool:
    """Move a saved plan to ``status``; False when there is no such plan."""
    if status not in PLAN_STATUSES:
        raise InvalidRequestError(f"status must be one of {', '.join(PLAN_STATUSES)}")
    try:
        uuid.UUID(str(plan_id))
    except ValueError:
        raise InvalidRequestError("plan id must be a UUID") from None
    if await series.mode() != "rollup":
        raise ReadOnlyDatabaseError("action plans")
    return await series.guard(series.store.update_action_plan_status(str(plan_id), status))
