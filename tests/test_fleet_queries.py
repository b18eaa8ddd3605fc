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
