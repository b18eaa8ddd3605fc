"""SQL statements (PostgreSQL 14+, core SQL only: no TimescaleDB or Citus functions).

Conventions: ``$n`` parameters only; local days are computed with ``AT TIME ZONE <factory tz>``
while range predicates stay on the raw ``time`` column so that indexes and chunk exclusion
work on plain tables, TimescaleDB hypertables and Citus distributed tables alike.
"""

SERVER_VERSION = "SELECT current_setting('server_version') AS version"

LIST_SEUS = """
SELECT s.id, s.name, es.name AS energy_source, es.unit, es.cost_per_unit, es.carbon_factor,
       s.machine_ids,
       array_agg(m.name ORDER BY m.name) AS machine_names,
       array_agg(m.type ORDER BY m.name) AS machine_types,
       min(f.name) AS factory,
       min(f.id::text) AS factory_id,
       min(f.timezone) AS timezone
FROM seus s
JOIN energy_sources es ON es.id = s.energy_source_id
LEFT JOIN machines m ON m.id = ANY(s.machine_ids)
LEFT JOIN factories f ON f.id = m.factory_id
WHERE s.is_active IS NOT FALSE
GROUP BY s.id, s.name, es.id, es.name, es.unit, es.cost_per_unit, es.carbon_factor, s.machine_ids
ORDER BY s.name, es.name
"""

# Energy per local day, straight from the readings (the path used when no rollup exists).
# $1 machine ids, $2 energy types, $3/$4 UTC range, $5 time zone, $6 local cut-off time,
# $7 whether the cut-off applies (a partial day compared with the same hours of other days).
# Coverage: per machine, readings x their mean spacing over the length of the local window
# (23, 24 or 25 hours on DST days, or midnight..cut-off), averaged over the SEU's machines.
DAILY_ENERGY_RAW = """
WITH r AS (
    SELECT machine_id, (time AT TIME ZONE $5)::date AS day, time, energy_kwh
    FROM energy_readings
    WHERE machine_id = ANY($1::uuid[]) AND energy_type = ANY($2::text[])
      AND time >= $3 AND time < $4
      AND (NOT $7 OR (time AT TIME ZONE $5)::time < $6::time)
      AND energy_kwh IS NOT NULL AND energy_kwh >= 0
), per_machine AS (
    SELECT day, machine_id, sum(energy_kwh) AS e, count(*) AS n,
           CASE WHEN count(*) > 1
                THEN extract(epoch FROM max(time) - min(time)) / (count(*) - 1) END AS step_s
    FROM r GROUP BY day, machine_id
), windows AS (
    SELECT day, e, n, step_s,
           extract(epoch FROM
               ((day + CASE WHEN $7 THEN $6::time ELSE time '00:00' END
                     + CASE WHEN $7 THEN interval '0' ELSE interval '1 day' END)::timestamp AT TIME ZONE $5)
               - (day::timestamp AT TIME ZONE $5)) AS window_s
    FROM per_machine
)
SELECT day, sum(e) AS energy_kwh, sum(n)::int AS readings,
       sum(least(1.0, n * coalesce(step_s, 0) / nullif(window_s, 0)))
           / greatest(cardinality($1::uuid[]), 1) AS coverage
FROM windows
GROUP BY day
ORDER BY day
"""

DATA_RANGE = """
SELECT min(time) AS first, max(time) AS last
FROM energy_readings
WHERE machine_id = ANY($1::uuid[]) AND energy_type = ANY($2::text[])
"""
