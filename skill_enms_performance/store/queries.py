"""SQL statements (PostgreSQL 14+, core SQL only: no TimescaleDB or Citus functions).

Conventions: ``$n`` parameters only; local days are computed with ``AT TIME ZONE <factory tz>``
while range predicates stay on the raw ``time`` column so that indexes and chunk exclusion
work on plain tables, TimescaleDB hypertables and Citus distributed tables alike.
"""

SERVER_VERSION = "SELECT current_setting('server_version') AS version"

LIST_SEUS = """
SELECT s.id, s.name, es.name AS energy_source, es.unit, es.cost_per_unit, es.carbon_factor,
       -- the machines that exist (an id of a deleted machine, or one listed twice, is not a machine to wait for)
       coalesce(array_agg(DISTINCT m.id) FILTER (WHERE m.id IS NOT NULL), '{}') AS machine_ids,
       array_agg(m.name ORDER BY m.name) AS machine_names,
       array_agg(m.type ORDER BY m.name) AS machine_types,
       min(f.name) AS factory,
       min(f.location) AS location,
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

# A reading counts when it is plausible: present, not negative, and no more than ten times what the machine's
# rated power draws over the reading's interval (at least an hour): a daily or monthly meter reading holds a
# day's or a month's energy. A reading's interval is the shorter of the gaps to the machine's previous and next
# readings of that energy type (the other gap may be an outage); it is looked up only for a reading above ten
# rated hours, so the usual case costs nothing. A meter reset turned into an interval by an upstream converter
# (minus the meter total, or all of it) fails that test in every path below.


def _plausible(r: str = "r", m: str = "m") -> str:
    """SQL: reading ``r`` of machine ``m`` has a value, is not negative and not above ten times the rated power
    over its interval."""
    gap = ("(SELECT {agg}(q.time) FROM energy_readings q WHERE q.machine_id = {r}.machine_id "
           "AND q.energy_type = {r}.energy_type AND q.time {op} {r}.time)")
    prev = gap.format(agg="max", op="<", r=r)
    nxt = gap.format(agg="min", op=">", r=r)
    interval_h = (f"extract(epoch FROM least(coalesce({r}.time - {prev}, {nxt} - {r}.time), "
                  f"coalesce({nxt} - {r}.time, {r}.time - {prev}))) / 3600.0")
    return (f"({r}.energy_kwh IS NOT NULL AND {r}.energy_kwh >= 0 AND ({r}.energy_kwh <= 10 * {m}.rated_power_kw "
            f"OR {r}.energy_kwh <= 10 * {m}.rated_power_kw * {interval_h}))")


PLAUSIBLE = _plausible()

# Coverage of an hour that holds a single reading is that reading's interval (a daily meter covers its day, a
# monthly one its month), the shorter of the gaps to its neighbours; an hour of an hourly meter stays an hour.
# Raw paths: the readings ``r`` (one per machine and instant) with ``interval_s``.
def _reading_interval(partition: str = "r.machine_id") -> str:
    """The readings ``r`` with ``interval_s``, neighbours taken within ``partition`` (a machine's readings)."""
    return f"""
    SELECT r.*, extract(epoch FROM least(coalesce(r.time - lag(r.time) OVER w, lead(r.time) OVER w - r.time),
                                         coalesce(lead(r.time) OVER w - r.time, r.time - lag(r.time) OVER w)))
               AS interval_s
    FROM r WINDOW w AS (PARTITION BY {partition} ORDER BY r.time)"""  # noqa: S608 - columns of this module, no input


READING_INTERVAL = _reading_interval()
# Seconds of an hour the readings ``ri`` of one machine cover (aggregate over that machine's readings of the hour).
HOUR_COVERED_S = """CASE WHEN count(*) > 1
                THEN least(3600.0, count(*) * extract(epoch FROM max(time) - min(time)) / (count(*) - 1))
                ELSE greatest(3600.0, coalesce(max(interval_s), 3600.0)) END"""
# Readings of the SEU on [$3, $4) that were left out: missing (NULL), implausible (negative, or too large), and
# duplicated (the same machine and instant under two names of the SEU's energy).
LEFT_OUT_READINGS = """
SELECT count(*) FILTER (WHERE r.energy_kwh IS NULL) AS missing,
       count(*) FILTER (WHERE r.energy_kwh IS NOT NULL AND NOT """ + PLAUSIBLE + """) AS implausible,
       count(*) - count(DISTINCT (r.machine_id, r.time)) AS duplicated
FROM energy_readings r JOIN machines m ON m.id = r.machine_id
WHERE r.machine_id = ANY($1::uuid[]) AND r.energy_type = ANY($2::text[]) AND r.time >= $3 AND r.time < $4
"""

# Energy per local day, straight from the readings (the path used when no rollup exists).
# $1 machine ids, $2 energy types, $3/$4 UTC range, $5 time zone, $6 local cut-off time,
# $7 whether the cut-off applies (a partial day compared with the same hours of other days).
# Coverage: per machine and hour, readings x their mean spacing (at most the hour), summed over the local window
# (23, 24 or 25 hours on DST days, or midnight..cut-off), averaged over the SEU's machines.
DAILY_ENERGY_RAW = """
WITH r AS (
    SELECT DISTINCT ON (r.machine_id, r.time) r.machine_id, (r.time AT TIME ZONE $5)::date AS day, r.time,
           r.energy_kwh
    FROM energy_readings r JOIN machines m ON m.id = r.machine_id
    WHERE r.machine_id = ANY($1::uuid[]) AND r.energy_type = ANY($2::text[])
      AND r.time >= $3 AND r.time < $4
      AND (NOT $7 OR (r.time AT TIME ZONE $5)::time < $6::time)
      AND """ + PLAUSIBLE + """
    ORDER BY r.machine_id, r.time, r.energy_type
), ri AS (""" + READING_INTERVAL + """
), per_hour AS (  -- coverage per hour, as the rollups count it: a gap of hours is a gap, not a wider spacing
    SELECT day, machine_id, sum(energy_kwh) AS e, count(*) AS n,
           """ + HOUR_COVERED_S + """ AS covered_s
    FROM ri GROUP BY day, machine_id, date_trunc('hour', time)
), per_machine AS (
    SELECT day, machine_id, sum(e) AS e, sum(n) AS n, sum(covered_s) AS covered_s
    FROM per_hour GROUP BY day, machine_id
), windows AS (
    SELECT day, e, n, covered_s,
           extract(epoch FROM
               ((day + CASE WHEN $7 THEN $6::time ELSE time '00:00' END
                     + CASE WHEN $7 THEN interval '0' ELSE interval '1 day' END)::timestamp AT TIME ZONE $5)
               - (day::timestamp AT TIME ZONE $5)) AS window_s
    FROM per_machine
)
SELECT day, sum(e) AS energy_kwh, sum(n)::int AS readings,
       sum(least(1.0, covered_s / nullif(window_s, 0)))
           / greatest(cardinality($1::uuid[]), 1) AS coverage
FROM windows
GROUP BY day
ORDER BY day
"""  # noqa: S608 - the fence and interval fragments are constants of this module, no input

# ``DAILY_ENERGY_RAW`` with a cut-off, for many SEUs in one statement (a plant-wide question about a running day):
# $1/$2/$3 (SEU position, machine id, energy group) per machine of each SEU, $4/$5 (energy group, energy type): the
# SEUs of one energy source share a group, so a machine in many SEUs is read once per source; $6/$7 UTC range,
# $8 time zone, $9 local cut-off time. One row per SEU and local day, as ``DAILY_ENERGY_RAW`` gives it for that SEU.
DAILY_ENERGY_RAW_MANY = """
WITH sm AS (SELECT * FROM unnest($1::int[], $2::uuid[], $3::int[]) AS sm(seu, machine_id, g)
), gt AS (SELECT * FROM unnest($4::int[], $5::text[]) AS gt(g, energy_type)
), mg AS (SELECT DISTINCT machine_id, g FROM sm
), n AS (SELECT seu, count(*)::int AS machines FROM sm GROUP BY seu
), r AS (
    SELECT DISTINCT ON (gt.g, r.machine_id, r.time) gt.g, r.machine_id, (r.time AT TIME ZONE $8)::date AS day,
           r.time, r.energy_kwh
    FROM energy_readings r JOIN machines m ON m.id = r.machine_id
    JOIN gt ON gt.energy_type = r.energy_type
    JOIN mg ON mg.machine_id = r.machine_id AND mg.g = gt.g
    WHERE r.machine_id = ANY($2::uuid[]) AND r.energy_type = ANY($5::text[])
      AND r.time >= $6 AND r.time < $7
      AND (r.time AT TIME ZONE $8)::time < $9::time
      AND """ + PLAUSIBLE + """
    ORDER BY gt.g, r.machine_id, r.time, r.energy_type
), ri AS (""" + _reading_interval("r.g, r.machine_id") + """
), per_hour AS (
    SELECT g, day, machine_id, sum(energy_kwh) AS e, count(*) AS n,
           """ + HOUR_COVERED_S + """ AS covered_s
    FROM ri GROUP BY g, day, machine_id, date_trunc('hour', time)
), per_machine AS (
    SELECT g, day, machine_id, sum(e) AS e, sum(n) AS n, sum(covered_s) AS covered_s,
           extract(epoch FROM ((day + $9::time)::timestamp AT TIME ZONE $8) - (day::timestamp AT TIME ZONE $8))
               AS window_s
    FROM per_hour GROUP BY g, day, machine_id
)
SELECT sm.seu, pm.day, sum(pm.e) AS energy_kwh, sum(pm.n)::int AS readings,
       sum(least(1.0, pm.covered_s / nullif(pm.window_s, 0))) / greatest(min(n.machines), 1) AS coverage
FROM per_machine pm JOIN sm ON sm.machine_id = pm.machine_id AND sm.g = pm.g
JOIN n ON n.seu = sm.seu
GROUP BY sm.seu, pm.day
ORDER BY sm.seu, pm.day
"""  # noqa: S608 - the fence, interval and coverage fragments are constants of this module, no input

DATA_RANGE = """
SELECT min(time) AS first, max(time) AS last
FROM energy_readings
WHERE machine_id = ANY($1::uuid[]) AND energy_type = ANY($2::text[])
"""

# --- rollups (schema enms_perf, see rollup.sql) --------------------------------------------
# Every refresh re-aggregates [from, to) completely (delete + insert in one transaction), so a
# re-run is idempotent and late or corrected readings inside the window are picked up.
# Sessions run with TimeZone = UTC, so date_trunc('hour', timestamptz) is a UTC hour.

ROLLUP_SCHEMA_EXISTS = "SELECT to_regclass('enms_perf.meta') IS NOT NULL AS present"

ROLLUP_VERSION = "SELECT max(version) FROM enms_perf.meta"

ROLLUP_SCHEMA_PRESENT = "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'enms_perf')"

ROLLUP_SCHEMA_USABLE = "SELECT has_schema_privilege(current_user, 'enms_perf', 'USAGE')"

# Rollups are derived data and are rebuilt; saved action plans are kept.
DROP_ROLLUPS = """
DROP TABLE IF EXISTS enms_perf.hourly, enms_perf.hourly_production, enms_perf.hourly_weather, enms_perf.daily,
    enms_perf.daily_production, enms_perf.daily_weather, enms_perf.refresh_state, enms_perf.meta
"""

LEGACY_ROLLUPS = "SELECT to_regclass('enms_perf.hourly') IS NOT NULL AS present"

CAN_CREATE_SCHEMA = """
SELECT has_database_privilege(current_user, current_database(), 'CREATE') AS can_create
"""

CAN_WRITE_ROLLUPS = """
SELECT has_table_privilege(current_user, 'enms_perf.hourly', 'INSERT,DELETE')
   AND has_table_privilege(current_user, 'enms_perf.refresh_state', 'INSERT,UPDATE') AS can_write
"""

# statement_timeout for the rest of the transaction ($1: milliseconds as text)
SET_LOCAL_STATEMENT_TIMEOUT = "SELECT set_config('statement_timeout', $1, true)"

REFRESH_STATE = "SELECT source, refreshed_to, refreshed_at FROM enms_perf.refresh_state"

SET_REFRESH_STATE = """
INSERT INTO enms_perf.refresh_state (source, refreshed_to, refreshed_at) VALUES ($1, $2, now())
ON CONFLICT (source) DO UPDATE SET refreshed_to = EXCLUDED.refreshed_to, refreshed_at = now()
"""

OLDEST_READING = "SELECT min(time) AS first FROM energy_readings"

ANALYZE_ROLLUPS = """
ANALYZE enms_perf.hourly, enms_perf.hourly_production, enms_perf.hourly_weather, enms_perf.daily,
        enms_perf.daily_production, enms_perf.daily_weather
"""

DELETE_HOURLY = "DELETE FROM enms_perf.hourly WHERE hour >= $1 AND hour < $2"

# What the hourly rollups hold for [$1, $2): compared before and after a refresh re-aggregates that window, it
# tells whether anything changed (late or corrected readings, a new hour), so unchanged data keeps its caches.
HOURLY_DIGEST = """
SELECT md5(concat_ws('|',
    (SELECT string_agg(concat_ws(',', machine_id, energy_type, hour, energy_kwh, peak_kw, readings, covered_s), ';'
                       ORDER BY machine_id, energy_type, hour)
     FROM enms_perf.hourly WHERE hour >= $1 AND hour < $2),
    (SELECT string_agg(concat_ws(',', machine_id, hour, production), ';' ORDER BY machine_id, hour)
     FROM enms_perf.hourly_production WHERE hour >= $1 AND hour < $2),
    (SELECT string_agg(concat_ws(',', factory_id, hour, temp_sum_c, temp_min_c, temp_max_c, readings), ';'
                       ORDER BY factory_id, hour)
     FROM enms_perf.hourly_weather WHERE hour >= $1 AND hour < $2)))
"""

INSERT_HOURLY = """
INSERT INTO enms_perf.hourly (machine_id, energy_type, hour, local_day, local_hour, energy_kwh, peak_kw,
                              readings, covered_s)
SELECT r.machine_id, r.energy_type, date_trunc('hour', r.time) AS hour,
       (date_trunc('hour', r.time) AT TIME ZONE f.timezone)::date,
       extract(hour FROM date_trunc('hour', r.time) AT TIME ZONE f.timezone)::smallint,
       sum(r.energy_kwh), max(r.power_kw), count(*),
       least(3600.0, CASE WHEN count(*) > 1
                          THEN count(*) * extract(epoch FROM max(r.time) - min(r.time)) / (count(*) - 1)
                          ELSE 3600.0 END)
FROM energy_readings r
JOIN machines m ON m.id = r.machine_id JOIN factories f ON f.id = m.factory_id
WHERE r.time >= $1 AND r.time < $2
  AND """ + PLAUSIBLE + """
GROUP BY r.machine_id, r.energy_type, date_trunc('hour', r.time), f.timezone
"""

# Hours in which one machine has readings under two names of the same energy ('energy' and 'electricity': two
# gateways, or a relabelling): the hour is re-summed from its readings with one reading per instant, into the
# row of the first type name, and the other names' rows go. Such hours are rare, so the full rollup build stays
# one pass over the readings. $1/$2 the refreshed window; $3/$4 energy type -> kind (from ENERGY_TYPE_ALIASES).
MERGE_HOURLY_ALIASES = """
WITH k AS (SELECT * FROM unnest($3::text[], $4::text[]) AS k(energy_type, kind)),
mixed AS (
    SELECT h.machine_id, h.hour, min(h.energy_type) AS keep, array_agg(h.energy_type) AS types
    FROM enms_perf.hourly h LEFT JOIN k ON k.energy_type = h.energy_type
    WHERE h.hour >= $1 AND h.hour < $2
    GROUP BY h.machine_id, h.hour, coalesce(k.kind, h.energy_type)
    HAVING count(*) > 1
), merged AS (
    SELECT x.machine_id, x.hour, x.keep, sum(d.energy_kwh) AS energy_kwh, max(d.power_kw) AS peak_kw,
           count(*) AS readings,
           least(3600.0, CASE WHEN count(*) > 1
                              THEN count(*) * extract(epoch FROM max(d.time) - min(d.time)) / (count(*) - 1)
                              ELSE 3600.0 END) AS covered_s
    FROM mixed x
    CROSS JOIN LATERAL (
        SELECT DISTINCT ON (r.time) r.time, r.energy_kwh, r.power_kw
        FROM energy_readings r JOIN machines m ON m.id = r.machine_id
        WHERE r.machine_id = x.machine_id AND r.energy_type = ANY(x.types)
          AND r.time >= x.hour AND r.time < x.hour + interval '1 hour'
          AND """ + PLAUSIBLE + """
        ORDER BY r.time, r.energy_type
    ) d
    GROUP BY x.machine_id, x.hour, x.keep
), kept AS (
    UPDATE enms_perf.hourly h
    SET energy_kwh = m.energy_kwh, peak_kw = m.peak_kw, readings = m.readings, covered_s = m.covered_s
    FROM merged m
    WHERE h.machine_id = m.machine_id AND h.hour = m.hour AND h.energy_type = m.keep
)
DELETE FROM enms_perf.hourly h
USING mixed x
WHERE h.machine_id = x.machine_id AND h.hour = x.hour AND h.energy_type = ANY(x.types) AND h.energy_type <> x.keep
"""  # noqa: S608 - the fence and interval fragments are constants of this module, no input

# Rollups: an hour of [$1, $2) holding a single reading covers that reading's interval, the shorter of the gaps
# to the machine's neighbouring hours of that energy type (the other gap may be an outage). Only hours whose
# interval is longer than an hour change (daily and monthly meters).
SET_READING_INTERVALS = """
UPDATE enms_perf.hourly h
SET covered_s = g.interval_s
FROM (
    SELECT x.machine_id, x.energy_type, x.hour,
           extract(epoch FROM least(coalesce(x.hour - p.hour, n.hour - x.hour),
                                    coalesce(n.hour - x.hour, x.hour - p.hour))) AS interval_s
    FROM enms_perf.hourly x
    LEFT JOIN LATERAL (SELECT q.hour FROM enms_perf.hourly q
                       WHERE q.machine_id = x.machine_id AND q.energy_type = x.energy_type AND q.hour < x.hour
                       ORDER BY q.hour DESC LIMIT 1) p ON true
    LEFT JOIN LATERAL (SELECT q.hour FROM enms_perf.hourly q
                       WHERE q.machine_id = x.machine_id AND q.energy_type = x.energy_type AND q.hour > x.hour
                       ORDER BY q.hour LIMIT 1) n ON true
    WHERE x.hour >= $1 AND x.hour < $2 AND x.readings = 1
) g
WHERE h.machine_id = g.machine_id AND h.energy_type = g.energy_type AND h.hour = g.hour AND g.interval_s > 3600
"""

# The typical interval between an SEU's readings: per machine the median gap of its last 60 instants, the longest
# of its machines (seconds; NULL without two readings). A meter read monthly cannot carry a daily model.
READING_INTERVAL_S = """
SELECT max(med) AS interval_s FROM (
    SELECT (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY g.gap)
            FROM (SELECT extract(epoch FROM t.time - lag(t.time) OVER (ORDER BY t.time)) AS gap
                  FROM (SELECT DISTINCT x.time FROM (
                            SELECT r.time FROM energy_readings r
                            WHERE r.machine_id = mid AND r.energy_type = ANY($2::text[])
                            ORDER BY r.time DESC LIMIT 60) x) t) g
            WHERE g.gap IS NOT NULL) AS med
    FROM unnest($1::uuid[]) AS mid
) per_machine
"""

DELETE_HOURLY_PRODUCTION = "DELETE FROM enms_perf.hourly_production WHERE hour >= $1 AND hour < $2"

INSERT_HOURLY_PRODUCTION = """
INSERT INTO enms_perf.hourly_production (machine_id, hour, local_day, local_hour, production)
SELECT p.machine_id, date_trunc('hour', p.time),
       (date_trunc('hour', p.time) AT TIME ZONE f.timezone)::date,
       extract(hour FROM date_trunc('hour', p.time) AT TIME ZONE f.timezone)::smallint,
       sum(greatest(p.production_count, 0))
FROM production_data p
JOIN machines m ON m.id = p.machine_id JOIN factories f ON f.id = m.factory_id
WHERE p.time >= $1 AND p.time < $2 AND p.production_count IS NOT NULL
GROUP BY p.machine_id, date_trunc('hour', p.time), f.timezone
"""

DELETE_HOURLY_WEATHER = "DELETE FROM enms_perf.hourly_weather WHERE hour >= $1 AND hour < $2"

INSERT_HOURLY_WEATHER = """
INSERT INTO enms_perf.hourly_weather (factory_id, hour, local_day, local_hour, temp_sum_c, temp_min_c,
                                      temp_max_c, readings)
SELECT m.factory_id, date_trunc('hour', e.time),
       (date_trunc('hour', e.time) AT TIME ZONE f.timezone)::date,
       extract(hour FROM date_trunc('hour', e.time) AT TIME ZONE f.timezone)::smallint,
       sum(e.outdoor_temp_c), min(e.outdoor_temp_c), max(e.outdoor_temp_c), count(*)
FROM environmental_data e
JOIN machines m ON m.id = e.machine_id JOIN factories f ON f.id = m.factory_id
WHERE e.time >= $1 AND e.time < $2 AND e.outdoor_temp_c IS NOT NULL
  AND e.outdoor_temp_c BETWEEN -80 AND 70
GROUP BY m.factory_id, date_trunc('hour', e.time), f.timezone
"""

# Daily rows are rebuilt from the hourly ones for every local day that overlaps [from, to).
# Float sums go through numeric: exact and independent of row order, so the same readings always give the same
# figures (a re-aggregation of unchanged data must not move an answer in its last digit).
DELETE_DAILY = """
DELETE FROM enms_perf.daily d
USING machines m JOIN factories f ON f.id = m.factory_id
WHERE d.machine_id = m.id AND d.day >= ($1::timestamptz AT TIME ZONE f.timezone)::date
"""

INSERT_DAILY = """
WITH mf AS (
    SELECT m.id AS machine_id, f.timezone AS tz,
           (($1::timestamptz AT TIME ZONE f.timezone)::date)::timestamp AT TIME ZONE f.timezone AS since
    FROM machines m JOIN factories f ON f.id = m.factory_id
), has_production AS (
    SELECT m.id AS machine_id FROM machines m
    WHERE EXISTS (SELECT 1 FROM enms_perf.hourly_production p WHERE p.machine_id = m.id)
)
INSERT INTO enms_perf.daily (machine_id, energy_type, day, energy_kwh, running_kwh, idle_kwh, peak_kw,
                             readings, coverage)
SELECT h.machine_id, h.energy_type, h.local_day AS day,
       sum(h.energy_kwh::numeric)::float8,
       CASE WHEN bool_or(hp.machine_id IS NOT NULL)
            THEN coalesce(sum(h.energy_kwh::numeric) FILTER (WHERE p.production > 0), 0)::float8 END,
       CASE WHEN bool_or(hp.machine_id IS NOT NULL)
            THEN coalesce(sum(h.energy_kwh::numeric) FILTER (WHERE coalesce(p.production, 0) = 0), 0)::float8 END,
       max(h.peak_kw), sum(h.readings)::int,
       least(1.0, sum(h.covered_s::numeric)::float8 / extract(epoch FROM
             ((h.local_day + 1)::timestamp AT TIME ZONE mf.tz) - (h.local_day::timestamp AT TIME ZONE mf.tz)))
FROM enms_perf.hourly h
JOIN mf ON mf.machine_id = h.machine_id
LEFT JOIN has_production hp ON hp.machine_id = h.machine_id
LEFT JOIN enms_perf.hourly_production p ON p.machine_id = h.machine_id AND p.hour = h.hour
WHERE h.hour >= $1::timestamptz - interval '2 days' AND h.hour >= mf.since
GROUP BY h.machine_id, h.energy_type, h.local_day, mf.tz
"""

DELETE_DAILY_PRODUCTION = """
DELETE FROM enms_perf.daily_production d
USING machines m JOIN factories f ON f.id = m.factory_id
WHERE d.machine_id = m.id AND d.day >= ($1::timestamptz AT TIME ZONE f.timezone)::date
"""

INSERT_DAILY_PRODUCTION = """
INSERT INTO enms_perf.daily_production (machine_id, day, production)
SELECT p.machine_id, p.local_day, sum(p.production::numeric)::float8
FROM enms_perf.hourly_production p
JOIN machines m ON m.id = p.machine_id JOIN factories f ON f.id = m.factory_id
WHERE p.hour >= $1::timestamptz - interval '2 days'
  AND p.hour >= ((($1::timestamptz AT TIME ZONE f.timezone)::date)::timestamp AT TIME ZONE f.timezone)
GROUP BY p.machine_id, p.local_day
"""

DELETE_DAILY_WEATHER = """
DELETE FROM enms_perf.daily_weather d
USING factories f
WHERE d.factory_id = f.id AND d.day >= ($1::timestamptz AT TIME ZONE f.timezone)::date
"""

INSERT_DAILY_WEATHER = """
INSERT INTO enms_perf.daily_weather (factory_id, day, temp_mean_c, temp_min_c, temp_max_c, readings)
SELECT w.factory_id, w.local_day,
       sum(w.temp_sum_c::numeric)::float8 / sum(w.readings), min(w.temp_min_c), max(w.temp_max_c),
       sum(w.readings)::int
FROM enms_perf.hourly_weather w JOIN factories f ON f.id = w.factory_id
WHERE w.hour >= $1::timestamptz - interval '2 days'
  AND w.hour >= ((($1::timestamptz AT TIME ZONE f.timezone)::date)::timestamp AT TIME ZONE f.timezone)
GROUP BY w.factory_id, w.local_day
"""

ROLLUP_FRESHNESS = """
SELECT (SELECT max(hour) FROM enms_perf.hourly) AS newest_hour,
       (SELECT max(refreshed_at) FROM enms_perf.refresh_state) AS refreshed_at
"""

# --- daily series of one SEU (drivers included) --------------------------------------------
# $1 machine ids, $2 energy types, $3 factory id, $4 first day, $5 last day (local, inclusive).
# Production is NULL on days where none of the SEU's machines reported any.
SEU_DAILY_SERIES = """
WITH e AS (
    SELECT day, sum(energy_kwh::numeric)::float8 AS energy_kwh, sum(idle_kwh::numeric)::float8 AS idle_kwh,
           sum(running_kwh::numeric)::float8 AS running_kwh, max(peak_kw) AS peak_kw, sum(readings)::int AS readings,
           sum(coverage::numeric)::float8 / greatest(cardinality($1::uuid[]), 1) AS coverage
    FROM enms_perf.daily
    WHERE machine_id = ANY($1::uuid[]) AND energy_type = ANY($2::text[]) AND day BETWEEN $4 AND $5
    GROUP BY day
), p AS (
    SELECT day, sum(production::numeric)::float8 AS production
    FROM enms_perf.daily_production
    WHERE machine_id = ANY($1::uuid[]) AND day BETWEEN $4 AND $5
    GROUP BY day
)
SELECT e.day, e.energy_kwh, e.idle_kwh, e.running_kwh, e.peak_kw, e.readings, e.coverage,
       p.production, w.temp_mean_c, w.temp_min_c, w.temp_max_c
FROM e
LEFT JOIN p ON p.day = e.day
LEFT JOIN enms_perf.daily_weather w ON w.factory_id = $3::uuid AND w.day = e.day
ORDER BY e.day
"""

# The same series computed from the raw tables (read-only databases: no rollups possible).
# $6 time zone; $7/$8 the UTC range of the local days.
SEU_DAILY_SERIES_RAW = """
WITH r AS (
    SELECT DISTINCT ON (r.machine_id, r.time) r.machine_id, (r.time AT TIME ZONE $6)::date AS day,
           date_trunc('hour', r.time) AS hour, r.time, r.energy_kwh, r.power_kw
    FROM energy_readings r JOIN machines m ON m.id = r.machine_id
    WHERE r.machine_id = ANY($1::uuid[]) AND r.energy_type = ANY($2::text[])
      AND r.time >= $7 AND r.time < $8
      AND """ + PLAUSIBLE + """
    ORDER BY r.machine_id, r.time, r.energy_type
), ri AS (""" + READING_INTERVAL + """
), hourly AS (
    SELECT machine_id, day, hour, sum(energy_kwh) AS e, max(power_kw) AS peak, count(*) AS n,
           """ + HOUR_COVERED_S + """ AS covered_s
    FROM ri GROUP BY machine_id, day, hour
), ph AS (
    SELECT machine_id, date_trunc('hour', time) AS hour, sum(greatest(production_count, 0)) AS production
    FROM production_data
    WHERE machine_id = ANY($1::uuid[]) AND time >= $7 AND time < $8 AND production_count IS NOT NULL
    GROUP BY machine_id, date_trunc('hour', time)
), has_p AS (SELECT DISTINCT machine_id FROM ph
), e AS (
    SELECT h.day, sum(h.e) AS energy_kwh,
           CASE WHEN bool_or(hp.machine_id IS NOT NULL)
                THEN coalesce(sum(h.e) FILTER (WHERE coalesce(ph.production, 0) = 0), 0) END AS idle_kwh,
           CASE WHEN bool_or(hp.machine_id IS NOT NULL)
                THEN coalesce(sum(h.e) FILTER (WHERE ph.production > 0), 0) END AS running_kwh,
           max(h.peak) AS peak_kw, sum(h.n)::int AS readings,
           least(1.0, sum(h.covered_s) / greatest(cardinality($1::uuid[]), 1) / extract(epoch FROM
                 ((h.day + 1)::timestamp AT TIME ZONE $6) - (h.day::timestamp AT TIME ZONE $6))) AS coverage
    FROM hourly h
    LEFT JOIN has_p hp ON hp.machine_id = h.machine_id
    LEFT JOIN ph ON ph.machine_id = h.machine_id AND ph.hour = h.hour
    GROUP BY h.day
), p AS (
    SELECT (hour AT TIME ZONE $6)::date AS day, sum(production) AS production FROM ph GROUP BY 1
), w AS (
    SELECT (x.time AT TIME ZONE $6)::date AS day, avg(x.outdoor_temp_c)::float8 AS temp_mean_c,
           min(x.outdoor_temp_c)::float8 AS temp_min_c, max(x.outdoor_temp_c)::float8 AS temp_max_c
    FROM environmental_data x JOIN machines m ON m.id = x.machine_id
    WHERE m.factory_id = $3::uuid AND x.time >= $7 AND x.time < $8 AND x.outdoor_temp_c IS NOT NULL
      AND x.outdoor_temp_c BETWEEN -80 AND 70
    GROUP BY 1
)
SELECT e.day, e.energy_kwh::float8, e.idle_kwh::float8, e.running_kwh::float8, e.peak_kw::float8, e.readings,
       e.coverage::float8, p.production::float8, w.temp_mean_c, w.temp_min_c, w.temp_max_c
FROM e LEFT JOIN p ON p.day = e.day LEFT JOIN w ON w.day = e.day
WHERE e.day BETWEEN $4 AND $5
ORDER BY e.day
"""  # noqa: S608 - the fence and interval fragments are constants of this module, no input

# Same-hours series for a partial day: per local day, the energy and production of the hours
# before the cut-off hour plus the given fraction of the cut-off hour; mean temperature of those
# hours. $1 machine ids, $2 energy types, $3 factory id, $4/$5 first/last local day,
# $6 cut-off hour (local, 0-23), $7 fraction of the cut-off hour that has passed.
SEU_PARTIAL_SERIES = """
WITH e AS (
    SELECT local_day AS day,
           sum((energy_kwh * CASE WHEN local_hour < $6 THEN 1.0 ELSE $7 END)::numeric)::float8 AS energy_kwh,
           sum(readings)::int AS readings,
           sum((covered_s * CASE WHEN local_hour < $6 THEN 1.0 ELSE $7 END)::numeric)::float8
               / greatest(cardinality($1::uuid[]), 1) AS covered_s
    FROM enms_perf.hourly
    WHERE machine_id = ANY($1::uuid[]) AND energy_type = ANY($2::text[])
      AND hour >= ($4::date - 1)::timestamp AT TIME ZONE 'UTC' AND hour < ($5::date + 2)::timestamp AT TIME ZONE 'UTC'
      AND local_day BETWEEN $4 AND $5 AND local_hour <= $6
    GROUP BY 1
), p AS (
    SELECT local_day AS day,
           sum((production * CASE WHEN local_hour < $6 THEN 1.0 ELSE $7 END)::numeric)::float8 AS production
    FROM enms_perf.hourly_production
    WHERE machine_id = ANY($1::uuid[])
      AND hour >= ($4::date - 1)::timestamp AT TIME ZONE 'UTC' AND hour < ($5::date + 2)::timestamp AT TIME ZONE 'UTC'
      AND local_day BETWEEN $4 AND $5 AND local_hour <= $6
    GROUP BY 1
), w AS (
    SELECT local_day AS day, sum(temp_sum_c::numeric)::float8 / sum(readings) AS temp_mean_c
    FROM enms_perf.hourly_weather
    WHERE factory_id = $3::uuid
      AND hour >= ($4::date - 1)::timestamp AT TIME ZONE 'UTC' AND hour < ($5::date + 2)::timestamp AT TIME ZONE 'UTC'
      AND local_day BETWEEN $4 AND $5 AND local_hour <= $6
    GROUP BY 1
)
SELECT e.day, e.energy_kwh, e.readings, e.covered_s, p.production, w.temp_mean_c
FROM e LEFT JOIN p ON p.day = e.day LEFT JOIN w ON w.day = e.day
ORDER BY e.day
"""

# The same for many SEUs in one statement (a plant-wide question about a running day): every hour is summed once per
# machine, energy type and day, then per SEU. Numeric sums are exact, so each SEU's figures are those of
# SEU_PARTIAL_SERIES. $1/$2 (SEU index, machine id) pairs, $3/$4 (SEU index, energy type) pairs, $5/$6 (SEU index,
# factory id or NULL) pairs, $7/$8 first/last local day, $9 cut-off hour, $10 fraction of the cut-off hour.
SEU_PARTIAL_SERIES_MANY = """
WITH sm AS (SELECT * FROM unnest($1::int[], $2::uuid[]) AS sm(seu, machine_id)
), st AS (SELECT * FROM unnest($3::int[], $4::text[]) AS st(seu, energy_type)
), sf AS (SELECT * FROM unnest($5::int[], $6::uuid[]) AS sf(seu, factory_id)
), n AS (SELECT seu, count(*)::int AS machines FROM sm GROUP BY seu
), em AS (
    SELECT machine_id, energy_type, local_day AS day,
           sum((energy_kwh * CASE WHEN local_hour < $9 THEN 1.0 ELSE $10 END)::numeric) AS energy_kwh,
           sum(readings) AS readings,
           sum((covered_s * CASE WHEN local_hour < $9 THEN 1.0 ELSE $10 END)::numeric) AS covered_s
    FROM enms_perf.hourly
    WHERE machine_id = ANY($2::uuid[]) AND energy_type = ANY($4::text[])
      AND hour >= ($7::date - 1)::timestamp AT TIME ZONE 'UTC' AND hour < ($8::date + 2)::timestamp AT TIME ZONE 'UTC'
      AND local_day BETWEEN $7 AND $8 AND local_hour <= $9
    GROUP BY 1, 2, 3
), e AS (
    SELECT sm.seu, em.day, sum(em.energy_kwh)::float8 AS energy_kwh, sum(em.readings)::int AS readings,
           sum(em.covered_s)::float8 / greatest(min(n.machines), 1) AS covered_s
    FROM em JOIN sm ON sm.machine_id = em.machine_id
    JOIN st ON st.seu = sm.seu AND st.energy_type = em.energy_type
    JOIN n ON n.seu = sm.seu
    GROUP BY 1, 2
), pm AS (
    SELECT machine_id, local_day AS day,
           sum((production * CASE WHEN local_hour < $9 THEN 1.0 ELSE $10 END)::numeric) AS production
    FROM enms_perf.hourly_production
    WHERE machine_id = ANY($2::uuid[])
      AND hour >= ($7::date - 1)::timestamp AT TIME ZONE 'UTC' AND hour < ($8::date + 2)::timestamp AT TIME ZONE 'UTC'
      AND local_day BETWEEN $7 AND $8 AND local_hour <= $9
    GROUP BY 1, 2
), p AS (
    SELECT sm.seu, pm.day, sum(pm.production)::float8 AS production
    FROM pm JOIN sm ON sm.machine_id = pm.machine_id
    GROUP BY 1, 2
), w AS (
    SELECT factory_id, local_day AS day, sum(temp_sum_c::numeric)::float8 / sum(readings) AS temp_mean_c
    FROM enms_perf.hourly_weather
    WHERE factory_id = ANY($6::uuid[])
      AND hour >= ($7::date - 1)::timestamp AT TIME ZONE 'UTC' AND hour < ($8::date + 2)::timestamp AT TIME ZONE 'UTC'
      AND local_day BETWEEN $7 AND $8 AND local_hour <= $9
    GROUP BY 1, 2
)
SELECT e.seu, e.day, e.energy_kwh, e.readings, e.covered_s, p.production, w.temp_mean_c
FROM e LEFT JOIN p ON p.seu = e.seu AND p.day = e.day
LEFT JOIN sf ON sf.seu = e.seu
LEFT JOIN w ON w.factory_id = sf.factory_id AND w.day = e.day
ORDER BY e.seu, e.day
"""

# Drivers of the running local day so far, from the raw tables: $1 machine ids, $2 factory id,
# $3 local midnight (UTC instant), $4 now.
TODAY_DRIVERS_RAW = """
SELECT (SELECT sum(greatest(production_count, 0))::float8 FROM production_data
         WHERE machine_id = ANY($1::uuid[]) AND time >= $3 AND time < $4) AS production,
       (SELECT avg(x.outdoor_temp_c)::float8 FROM environmental_data x JOIN machines m ON m.id = x.machine_id
         WHERE m.factory_id = $2::uuid AND x.time >= $3 AND x.time < $4
           AND x.outdoor_temp_c BETWEEN -80 AND 70) AS temp_mean_c
"""

# ``TODAY_DRIVERS_RAW`` for many SEUs in one statement: $1/$2 (SEU position, machine id), $3/$4 (SEU position,
# factory id), $5/$6 UTC range; one row per SEU position of $3.
TODAY_DRIVERS_RAW_MANY = """
WITH sm AS (SELECT * FROM unnest($1::int[], $2::uuid[]) AS sm(seu, machine_id)
), sf AS (SELECT * FROM unnest($3::int[], $4::uuid[]) AS sf(seu, factory_id)
), p AS (
    SELECT machine_id, sum(greatest(production_count, 0))::float8 AS production FROM production_data
    WHERE machine_id = ANY($2::uuid[]) AND time >= $5 AND time < $6
    GROUP BY machine_id
), t AS (
    SELECT m.factory_id, avg(x.outdoor_temp_c)::float8 AS temp_mean_c
    FROM environmental_data x JOIN machines m ON m.id = x.machine_id
    WHERE m.factory_id = ANY($4::uuid[]) AND x.time >= $5 AND x.time < $6 AND x.outdoor_temp_c BETWEEN -80 AND 70
    GROUP BY m.factory_id
)
SELECT sf.seu, (SELECT sum(p.production) FROM sm JOIN p ON p.machine_id = sm.machine_id WHERE sm.seu = sf.seu)
           AS production,
       t.temp_mean_c
FROM sf LEFT JOIN t ON t.factory_id = sf.factory_id
"""

# Daily energy of every machine and energy type over local days [$1, $2] (fleet summaries read
# all SEUs in one round trip and group them in the engine).
FLEET_DAILY = """
SELECT machine_id, energy_type, day, energy_kwh, idle_kwh, readings, coverage
FROM enms_perf.daily
WHERE day BETWEEN $1 AND $2
"""

FLEET_PRODUCTION = """
SELECT machine_id, day, production FROM enms_perf.daily_production WHERE day BETWEEN $1 AND $2
"""

FLEET_WEATHER = """
SELECT factory_id, day, temp_mean_c FROM enms_perf.daily_weather WHERE day BETWEEN $1 AND $2
"""

# Time-of-use price of an SEU's energy over local days [$4, $5]: the energy-weighted rate of the
# factory's tariff by local hour and ISO weekday; NULL when the factory has no tariff.
# $1 machine ids, $2 energy types, $3 factory id.
TOU_RATE = """
WITH h AS (
    SELECT local_day, local_hour, energy_kwh
    FROM enms_perf.hourly
    WHERE machine_id = ANY($1::uuid[]) AND energy_type = ANY($2::text[])
      AND hour >= ($4::date - 1)::timestamp AT TIME ZONE 'UTC' AND hour < ($5::date + 2)::timestamp AT TIME ZONE 'UTC'
      AND local_day BETWEEN $4 AND $5
)
SELECT sum(h.energy_kwh * t.rate_per_kwh) / nullif(sum(h.energy_kwh), 0) AS rate,
       count(t.rate_per_kwh) AS priced_hours
FROM h
JOIN energy_tariffs t ON t.factory_id = $3::uuid
 AND extract(isodow FROM h.local_day)::int = ANY(t.applicable_days)
 AND h.local_hour >= t.start_hour AND h.local_hour < t.end_hour
"""

HAS_TARIFFS = "SELECT to_regclass('energy_tariffs') IS NOT NULL AS present"

NEWEST_READING_PER_MACHINE = """
SELECT m.id, m.name, m.type, f.name AS factory, f.timezone,
       (SELECT max(r.time) FROM energy_readings r WHERE r.machine_id = m.id) AS newest
FROM machines m JOIN factories f ON f.id = m.factory_id
WHERE m.is_active IS NOT FALSE
ORDER BY f.name, m.name
"""

# Hourly energy and production of one SEU over a UTC range, by local day and hour (opportunity
# scans). $1 machine ids, $2 energy types, $3/$4 UTC range. Production is NULL where none of the
# SEU's machines reports production.
SEU_HOURLY_PROFILE = """
SELECT h.local_day, h.local_hour, sum(h.energy_kwh) AS energy_kwh, sum(p.production) AS production
FROM enms_perf.hourly h
LEFT JOIN enms_perf.hourly_production p ON p.machine_id = h.machine_id AND p.hour = h.hour
WHERE h.machine_id = ANY($1::uuid[]) AND h.energy_type = ANY($2::text[]) AND h.hour >= $3 AND h.hour < $4
GROUP BY h.local_day, h.local_hour
ORDER BY h.local_day, h.local_hour
"""

# --- action plans --------------------------------------------------------------------------
# One open plan (planned or in progress) per SEU, energy source and issue: a repeated save updates it. Run under
# SAVE_ACTION_PLAN_LOCK in one transaction, so two saves at once cannot both insert.
SAVE_ACTION_PLAN_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended($1, 4711))"

SAVE_ACTION_PLAN = """
WITH open_plan AS (
    SELECT id FROM enms_perf.action_plans
    WHERE seu_name = $2 AND energy_source = $3 AND issue_type = $4 AND status IN ('planned', 'in_progress')
    ORDER BY updated_at DESC
    LIMIT 1
), updated AS (
    UPDATE enms_perf.action_plans p
    SET plan = jsonb_set($6::jsonb, '{id}', to_jsonb(p.id::text)), status = COALESCE($5, p.status), updated_at = now()
    FROM open_plan WHERE p.id = open_plan.id
    RETURNING p.id, p.status, false AS created
), inserted AS (
    INSERT INTO enms_perf.action_plans (id, seu_name, energy_source, issue_type, status, plan)
    SELECT $1, $2, $3, $4, COALESCE($5, 'planned'), $6::jsonb
    WHERE NOT EXISTS (SELECT 1 FROM updated)
    RETURNING id, status, true AS created
)
SELECT id, status, created FROM updated UNION ALL SELECT id, status, created FROM inserted
"""

LIST_ACTION_PLANS = """
SELECT id, seu_name, energy_source, issue_type, status, plan, created_at, updated_at, count(*) OVER () AS total
FROM enms_perf.action_plans
WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR seu_name = $2)
ORDER BY updated_at DESC, id
LIMIT $3 OFFSET $4
"""

COUNT_MATCHING_ACTION_PLANS = """
SELECT count(*)::int FROM enms_perf.action_plans
WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR seu_name = $2)
"""

UPDATE_ACTION_PLAN_STATUS = """
UPDATE enms_perf.action_plans SET status = $2, updated_at = now() WHERE id = $1 RETURNING id
"""

COUNT_ACTION_PLANS = """
SELECT status, count(*)::int AS plans FROM enms_perf.action_plans GROUP BY status
"""
