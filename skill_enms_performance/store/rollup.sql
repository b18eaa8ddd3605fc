-- The engine's own rollups, in a schema of its own next to the EnMS tables.
-- Idempotent; created on first use where the engine's role may create a schema.
-- Nothing here writes to EnMS tables.
CREATE SCHEMA IF NOT EXISTS enms_perf;

-- Rollups are derived data: a different version is dropped and rebuilt by the engine.
CREATE TABLE IF NOT EXISTS enms_perf.meta (version integer NOT NULL);
INSERT INTO enms_perf.meta (version) SELECT 5 WHERE NOT EXISTS (SELECT 1 FROM enms_perf.meta);

-- Per machine, energy type and UTC hour (local hours of whole-hour time zones).
CREATE TABLE IF NOT EXISTS enms_perf.hourly (
    machine_id   uuid        NOT NULL,
    energy_type  text        NOT NULL,
    hour         timestamptz NOT NULL,
    local_day    date        NOT NULL,  -- local calendar day and hour of the machine's factory
    local_hour   smallint    NOT NULL,
    energy_kwh   float8      NOT NULL,
    peak_kw      float8,
    readings     integer     NOT NULL,
    covered_s    float8      NOT NULL,
    PRIMARY KEY (machine_id, energy_type, hour)
);

-- Per machine and UTC hour: production and whether the machine produced.
CREATE TABLE IF NOT EXISTS enms_perf.hourly_production (
    machine_id   uuid        NOT NULL,
    hour         timestamptz NOT NULL,
    local_day    date        NOT NULL,
    local_hour   smallint    NOT NULL,
    production   float8      NOT NULL,
    PRIMARY KEY (machine_id, hour)
);

-- Per machine, energy type and local day of the machine's factory.
CREATE TABLE IF NOT EXISTS enms_perf.daily (
    machine_id    uuid    NOT NULL,
    energy_type   text    NOT NULL,
    day           date    NOT NULL,
    energy_kwh    float8  NOT NULL,
    running_kwh   float8,           -- energy in hours with production
    idle_kwh      float8,           -- energy in hours without production (NULL: no production data)
    peak_kw       float8,
    readings      integer NOT NULL,
    coverage      float8  NOT NULL, -- share of the local day covered by readings, 0..1
    PRIMARY KEY (machine_id, energy_type, day)
);

CREATE TABLE IF NOT EXISTS enms_perf.daily_production (
    machine_id  uuid   NOT NULL,
    day         date   NOT NULL,
    production  float8 NOT NULL,
    PRIMARY KEY (machine_id, day)
);

-- Outdoor temperature per factory and UTC hour (any machine of the factory may carry it;
-- 0 C is a value, NULL is missing and not counted).
CREATE TABLE IF NOT EXISTS enms_perf.hourly_weather (
    factory_id  uuid        NOT NULL,
    hour        timestamptz NOT NULL,
    local_day   date        NOT NULL,
    local_hour  smallint    NOT NULL,
    temp_sum_c  float8      NOT NULL,
    temp_min_c  float8      NOT NULL,
    temp_max_c  float8      NOT NULL,
    readings    integer     NOT NULL,
    PRIMARY KEY (factory_id, hour)
);

-- Per factory and local day.
CREATE TABLE IF NOT EXISTS enms_perf.daily_weather (
    factory_id  uuid    NOT NULL,
    day         date    NOT NULL,
    temp_mean_c float8  NOT NULL,
    temp_min_c  float8  NOT NULL,
    temp_max_c  float8  NOT NULL,
    readings    integer NOT NULL,
    PRIMARY KEY (factory_id, day)
);

-- How far each source has been rolled up; refreshes re-aggregate from `refreshed_to` minus
-- the recheck window, so late-arriving and corrected readings are picked up.
CREATE TABLE IF NOT EXISTS enms_perf.refresh_state (
    source        text        PRIMARY KEY,
    refreshed_to  timestamptz NOT NULL,
    refreshed_at  timestamptz NOT NULL DEFAULT now()
);

-- Action plans (ISO 50001 clause 6.2), saved by the engine; not derived data: never dropped.
CREATE TABLE IF NOT EXISTS enms_perf.action_plans (
    id             uuid        PRIMARY KEY,
    seu_name       text        NOT NULL,
    energy_source  text        NOT NULL,
    issue_type     text        NOT NULL,
    status         text        NOT NULL CHECK (status IN ('planned', 'in_progress', 'completed', 'cancelled')),
    plan           jsonb       NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Refreshes select recent hours across all machines.
CREATE INDEX IF NOT EXISTS hourly_hour_idx ON enms_perf.hourly (hour);
CREATE INDEX IF NOT EXISTS hourly_production_hour_idx ON enms_perf.hourly_production (hour);
CREATE INDEX IF NOT EXISTS hourly_weather_hour_idx ON enms_perf.hourly_weather (hour);
