"""SQL of the demo: the reference-plant generator (``demo/generator.py``) and the embedded server (``demo/embedded.py``).

Conventions as in ``queries.py``: ``$n`` parameters only. Where a statement differs only by its table, there is one
constant statement per table in a dict keyed by the table's name; identifiers are never formatted into SQL.
"""

#: the database of the embedded demo server
DEMO_DATABASE = "enms"

# --- embedded server ----------------------------------------------------------------------

# Whether a database exists. $1 database name.
DATABASE_EXISTS = "SELECT 1 FROM pg_database WHERE datname = $1"

# CREATE DATABASE takes no parameters: one statement per database we create.
CREATE_DATABASE: dict[str, str] = {
    DEMO_DATABASE: 'CREATE DATABASE "enms"',
}

# --- plant metadata -----------------------------------------------------------------------

# The generator's own bookkeeping: how the plant in this database was made and how far its data runs.
PLANT_META_DDL = """
CREATE SCHEMA IF NOT EXISTS enms_demo;
CREATE TABLE IF NOT EXISTS enms_demo.plant_meta (
    id                 smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    generator_version  integer NOT NULL,
    seed               bigint NOT NULL,
    anchor             date NOT NULL,
    resolution_minutes integer NOT NULL,
    days               integer NOT NULL,
    loaded_end         timestamptz NOT NULL,
    data_until         timestamptz NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now()
);
"""

# Whether a reference plant was ever loaded here (true/false, no error when the schema is missing).
PLANT_META_EXISTS = "SELECT to_regclass('enms_demo.plant_meta') IS NOT NULL"

# The plant's parameters (one row, id 1).
SELECT_PLANT_META = "SELECT * FROM enms_demo.plant_meta WHERE id = 1"

# Record a (re)load. $1 generator version, $2 seed, $3 anchor date, $4 resolution minutes, $5 days,
# $6 end of the loaded data (also the new data_until).
UPSERT_PLANT_META = """
INSERT INTO enms_demo.plant_meta (id, generator_version, seed, anchor, resolution_minutes, days,
    loaded_end, data_until) VALUES (1, $1, $2, $3, $4, $5, $6, $6)
ON CONFLICT (id) DO UPDATE SET generator_version = EXCLUDED.generator_version, seed = EXCLUDED.seed,
    anchor = EXCLUDED.anchor, resolution_minutes = EXCLUDED.resolution_minutes,
    days = EXCLUDED.days, loaded_end = EXCLUDED.loaded_end, data_until = EXCLUDED.data_until,
    created_at = now()
"""

# Move data_until forward after a top-up (never back). $1 new end of the data.
ADVANCE_DATA_UNTIL = "UPDATE enms_demo.plant_meta SET data_until = greatest(data_until, $1) WHERE id = 1"

# --- transaction control ------------------------------------------------------------------

# Serialise loads and top-ups of one database (released at the end of the transaction). $1 lock key.
ADVISORY_XACT_LOCK = "SELECT pg_advisory_xact_lock($1)"

# A bulk load need not wait for its WAL flush at commit (this transaction only).
SYNCHRONOUS_COMMIT_OFF = "SET LOCAL synchronous_commit = off"

# --- schema -------------------------------------------------------------------------------

# How many of the named tables do not exist. $1 table names.
COUNT_MISSING_TABLES = "SELECT count(*) FROM unnest($1::text[]) t WHERE to_regclass(t) IS NULL"

# --- catalogue ----------------------------------------------------------------------------

# A factory by its natural key (name); an existing row keeps its id. $1 id, $2 name, $3 location, $4 time zone.
UPSERT_FACTORY = """
INSERT INTO factories (id, name, location, timezone) VALUES ($1, $2, $3, $4)
ON CONFLICT (name) DO UPDATE SET location = EXCLUDED.location, timezone = EXCLUDED.timezone
RETURNING id
"""

# A machine by (factory, name); an existing row keeps its id. $1 id, $2 factory id, $3 name, $4 type, $5 rated kW.
UPSERT_MACHINE = """
INSERT INTO machines (id, factory_id, name, type, rated_power_kw, is_active)
VALUES ($1, $2, $3, $4, $5, true)
ON CONFLICT (factory_id, name) DO UPDATE SET type = EXCLUDED.type,
    rated_power_kw = EXCLUDED.rated_power_kw, is_active = true
RETURNING id
"""

# An energy source by name; an existing row keeps its id. $1 id, $2 name, $3 unit, $4 cost per unit, $5 carbon factor.
UPSERT_ENERGY_SOURCE = """
INSERT INTO energy_sources (id, name, unit, cost_per_unit, carbon_factor) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (name) DO UPDATE SET unit = EXCLUDED.unit, cost_per_unit = EXCLUDED.cost_per_unit,
    carbon_factor = EXCLUDED.carbon_factor
RETURNING id
"""

# An SEU by its fixed id. $1 id, $2 name, $3 energy source id, $4 machine ids.
UPSERT_SEU = """
INSERT INTO seus (id, name, energy_source_id, machine_ids, is_active) VALUES ($1, $2, $3, $4, true)
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, energy_source_id = EXCLUDED.energy_source_id,
    machine_ids = EXCLUDED.machine_ids, is_active = true
"""

# The factories' tariffs are replaced as a whole. $1 factory ids.
DELETE_TARIFFS = "DELETE FROM energy_tariffs WHERE factory_id = ANY($1::uuid[])"

# One time-of-use band. $1 factory id, $2 rate per kWh, $3 start hour, $4 end hour, $5 ISO weekdays.
INSERT_TARIFF = """
INSERT INTO energy_tariffs (factory_id, rate_per_kwh, start_hour, end_hour, applicable_days)
VALUES ($1, $2, $3, $4, $5)
"""

# The plant's machine ids by name, matched on (factory name, machine name). $1 factory names, $2 machine names.
PLANT_MACHINE_IDS = """
SELECT m.name, m.id FROM machines m JOIN factories f ON f.id = m.factory_id
WHERE (f.name, m.name) IN (SELECT * FROM unnest($1::text[], $2::text[]))
"""

# --- series: readings, production, weather -------------------------------------------------

# A reload replaces all rows of the plant's machines, per series table. $1 machine ids.
DELETE_MACHINE_ROWS: dict[str, str] = {
    "energy_readings": "DELETE FROM energy_readings WHERE machine_id = ANY($1::uuid[])",
    "production_data": "DELETE FROM production_data WHERE machine_id = ANY($1::uuid[])",
    "environmental_data": "DELETE FROM environmental_data WHERE machine_id = ANY($1::uuid[])",
}

# Planner statistics after a bulk load.
ANALYZE_SERIES = "ANALYZE energy_readings, production_data, environmental_data"

# Newest reading per (machine, energy type): where a top-up continues each series. $1 machine ids.
NEWEST_READING_PER_SERIES = """
SELECT machine_id, energy_type, max(time) AS t FROM energy_readings
WHERE machine_id = ANY($1::uuid[]) GROUP BY 1, 2
"""

# Newest production / weather row per machine. $1 machine ids.
NEWEST_ROW_PER_MACHINE: dict[str, str] = {
    "production_data": """
SELECT machine_id, max(time) AS t FROM production_data
WHERE machine_id = ANY($1::uuid[]) GROUP BY 1
""",
    "environmental_data": """
SELECT machine_id, max(time) AS t FROM environmental_data
WHERE machine_id = ANY($1::uuid[]) GROUP BY 1
""",
}

# A top-up COPYs into temporary tables first, then merges without touching rows that already exist.
STAGING_TABLES: dict[str, str] = {
    "energy_readings": "_enms_topup_energy_readings",
    "production_data": "_enms_topup_production_data",
    "environmental_data": "_enms_topup_environmental_data",
}

# The staging table of each series table (dropped at commit).
CREATE_STAGING_TABLE: dict[str, str] = {
    "energy_readings":
        "CREATE TEMP TABLE _enms_topup_energy_readings (LIKE energy_readings INCLUDING DEFAULTS) ON COMMIT DROP",
    "production_data":
        "CREATE TEMP TABLE _enms_topup_production_data (LIKE production_data INCLUDING DEFAULTS) ON COMMIT DROP",
    "environmental_data":
        "CREATE TEMP TABLE _enms_topup_environmental_data (LIKE environmental_data INCLUDING DEFAULTS) "
        "ON COMMIT DROP",
}

# Staged rows into the series table; rows already present stay as they are (the status counts the new rows).
# The column lists are the generator's COPY columns.
MERGE_STAGING_TABLE: dict[str, str] = {
    "energy_readings": """
INSERT INTO energy_readings (time, machine_id, energy_type, power_kw, energy_kwh)
SELECT time, machine_id, energy_type, power_kw, energy_kwh FROM _enms_topup_energy_readings
ON CONFLICT DO NOTHING
""",
    "production_data": """
INSERT INTO production_data (time, machine_id, production_count, operating_mode)
SELECT time, machine_id, production_count, operating_mode FROM _enms_topup_production_data
ON CONFLICT DO NOTHING
""",
    "environmental_data": """
INSERT INTO environmental_data (time, machine_id, outdoor_temp_c)
SELECT time, machine_id, outdoor_temp_c FROM _enms_topup_environmental_data
ON CONFLICT DO NOTHING
""",
}
