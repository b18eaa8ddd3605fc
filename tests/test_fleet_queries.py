"""What a plant-wide question costs the database: every statement planned for its own parameters, and reads that
do not grow with the number of SEUs asked about."""
from __future__ import annotations

from skill_enms_performance.engine import Engine, EngineSettings

from .conftest import REF_NOW, run


def test_statements_run_again_and_again_keep_plans_made_for_their_parameters(plant_dsn):
    """asyncpg keeps each statement prepared per connection; from its sixth run PostgreSQL may plan it once for all
    parameters, and that generic plan of the running day's same-hours series joined its aggregates by nested loops
    (about 50x slower). One connection, a summary of today (one same-hours series per SEU): no generic plan."""
    async def check():
        engine = Engine(plant_dsn, EngineSettings(pool_min_size=1, pool_max_size=1), clock=lambda: REF_NOW)
        try:
            summary = await engine.summary()
            assert len(summary.items) >= 6
            await engine.summary(machine_type="compressor")
            return [dict(r) for r in await engine.store.fetch(
                "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements "
                "WHERE cardinality(parameter_types) > 0")]  # a statement without parameters has one plan
        finally:
            await engine.close()

    plans = run(check())
    assert max(p["custom_plans"] for p in plans) >= 6, plans  # some statement did run more than five times
    assert [p["statement"][:80] for p in plans if p["generic_plans"]] == []


def _counting(engine: Engine) -> list[str]:
    """The statements the engine's store runs from now on."""
    seen: list[str] = []
    fetch = engine.store.fetch

    async def counted(sql, *args):
        seen.append(sql)
        return await fetch(sql, *args)

    engine.store.fetch = counted
    return seen


def test_a_summary_of_today_reads_the_running_days_in_a_few_statements_with_each_seus_own_figures(plant_dsn):
    """The same-hours series of the running day (a year of hours per SEU) was read one SEU at a time; now one
    statement per time zone, however many SEUs are asked about, and every line is the one a question about that SEU
    alone gives (its own statement). The same for the running day's readings and drivers up to now (two statements
    per SEU before)."""
    from skill_enms_performance.store import queries as Q

    same_hours = {Q.SEU_PARTIAL_SERIES, Q.SEU_PARTIAL_SERIES_MANY}
    running = {Q.DAILY_ENERGY_RAW, Q.DAILY_ENERGY_RAW_MANY, Q.TODAY_DRIVERS_RAW, Q.TODAY_DRIVERS_RAW_MANY}

    async def check():
        batched = Engine(plant_dsn, clock=lambda: REF_NOW)
        alone = Engine(plant_dsn, clock=lambda: REF_NOW)
        try:
            seus = await batched.seus()
            zones = len({s.timezone for s in seus})
            seen = _counting(batched)
            few = await batched.summary(machine_type="compressor")
            reads_few = sum(sql in same_hours for sql in seen)
            seen.clear()
            everything = await batched.summary()
            reads_all = sum(sql in same_hours for sql in seen)
            running_all = sum(sql in running for sql in seen)
            singles = {}
            for seu in seus:  # one SEU at a time: each reads its own series and running day
                singles[(seu.name, seu.energy_source)] = await alone.analyze_seu_performance(seu.name, seu.energy_source)
            reference = await alone.summary()
            return (zones, len(few.items), reads_few, len(everything.items), reads_all, everything, reference,
                    running_all, singles)
        finally:
            await batched.close()
            await alone.close()

    zones, n_few, reads_few, n_all, reads_all, everything, reference, running_all, singles = run(check())
    assert n_all == 10 > n_few >= 2
    assert 1 <= reads_few <= zones and 1 <= reads_all <= zones  # not one per SEU
    assert 2 <= running_all <= 2 * zones
    for item in everything.items:  # the batched reads give each SEU the figures of its own statements
        alone_ = singles[(item.seu_name, item.energy_source)]
        assert (item.actual_energy_kwh, item.baseline_energy_kwh, item.deviation_kwh, item.significant) == (
            alone_.actual_energy_kwh, alone_.baseline_energy_kwh, alone_.deviation_kwh, alone_.significant), item
    assert [i.to_dict() for i in everything.items] == [i.to_dict() for i in reference.items]
    assert everything.total_actual_energy_kwh == reference.total_actual_energy_kwh
    assert everything.total_uncertainty_kwh == reference.total_uncertainty_kwh
