-- The subset of the EnMS schema this engine reads (the plant database's tables and columns it queries).
-- Idempotent: safe to run on an empty database and on one that already has these tables.
-- Real EnMS deployments have more tables and columns; the engine relies on nothing else.
CREATE TABLE IF NOT EXISTS factories (
    id        uuid PRIMARY KEY,
    name      text NOT NULL UNIQUE,
    location  text,
    timezone  text NOT NULL DEFAULT 'UTC'
);

CREATE TABLE IF NOT EXISTS machines (
    id              uuid PRIMARY KEY,
    factory_id      uuid NOT NULL REFERENCES factories(id),
    name            text NOT NULL,
    type            text NOT NULL,
    rated_power_kw  numeric NOT NULL,
    is_active       boolean NOT NULL DEFAULT true,
    UNIQUE (factory_id, name)
);

CREATE TABLE IF NOT EXISTS energy_sources (
    id             uuid PRIMARY KEY,
    name           text NOT NULL UNIQUE,
    unit           text NOT NULL,
    cost_per_unit  numeric,
    carbon_factor  numeric
);

CREATE TABLE IF NOT EXISTS seus (
    id                uuid PRIMARY KEY,
    name              text NOT NULL,
    energy_source_id  uuid NOT NULL REFERENCES energy_sources(id),
    machine_ids       uuid[] NOT NULL,
    is_active         boolean NOT NULL DEFAULT true
);

-- energy_kwh is the energy of the interval ending/starting at `time` (not a meter total);
-- gas and steam are stored as kWh-equivalent.
CREATE TABLE IF NOT EXISTS energy_readings (
    time         timestamptz NOT NULL,
    machine_id   uuid NOT NULL,
    energy_type  varchar(50) NOT NULL DEFAULT 'electrical',
    power_kw     numeric,
    energy_kwh   numeric,
    UNIQUE (machine_id, time, energy_type)
);

CREATE TABLE IF NOT EXISTS production_data (
    time              timestamptz NOT NULL,
    machine_id        uuid NOT NULL,
    production_count  integer,
    operating_mode    text,
    UNIQUE (machine_id, time)
);

CREATE TABLE IF NOT EXISTS environmental_data (
    time            timestamptz NOT NULL,
    machine_id      uuid NOT NULL,
    outdoor_temp_c  numeric,
    UNIQUE (machine_id, time)
);

-- Optional in real deployments: time-of-use prices. applicable_days holds ISO weekdays
-- (1 = Monday .. 7 = Sunday); the rate applies from start_hour (inclusive) to end_hour
-- (exclusive) local time of the factory.
CREATE TABLE IF NOT EXISTS energy_tariffs (
    factory_id       uuid NOT NULL REFERENCES factories(id),
    rate_per_kwh     numeric NOT NULL,
    start_hour       integer NOT NULL,
    end_hour         integer NOT NULL,
    applicable_days  integer[] NOT NULL
);
