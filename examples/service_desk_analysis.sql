-- Service desk analysis over the DuckDB cache that PyAirbyte fills from source-haloitsm
-- (examples/pyairbyte_example.py runs it after a read; DuckDB SQL).
--
-- Tables are named after the streams: tickets, statuses, teams, agents. PyAirbyte's table for a
-- stream is <schema>.<table_prefix><stream> (main.tickets with the default cache); the example makes a
-- temporary view named after each stream over it (and, with --by-type, a `tickets` view that is the
-- union of the ticket-type streams), so this file is the same for every cache.
--
-- Columns are the connector's: tickets.status_id / team_id / agent_id are the ids of rows of
-- statuses / teams / agents (tickets.team is the team's NAME, not an id), the datetimes are UTC
-- (TIMESTAMP columns in the cache), and Halo's "no date" (1900-01-01...) arrives as NULL.
--
-- One row per primary key: PyAirbyte's default write strategy (merge on the primary key) already
-- keeps one, but a cache or destination written in append mode holds every delivery (incremental
-- reads deliver at least once), so the first views keep the latest row of each id.
--
-- Blocks start with "-- name: <name>"; the example runs `setup` and then each query, on one
-- connection (the views are temporary).

-- name: setup
CREATE OR REPLACE TEMP VIEW latest_tickets AS
SELECT * FROM tickets
QUALIFY row_number() OVER (PARTITION BY id ORDER BY last_update DESC, _airbyte_extracted_at DESC) = 1;

CREATE OR REPLACE TEMP VIEW latest_statuses AS
SELECT * FROM statuses
QUALIFY row_number() OVER (PARTITION BY id ORDER BY _airbyte_extracted_at DESC) = 1;

CREATE OR REPLACE TEMP VIEW latest_teams AS
SELECT * FROM teams
QUALIFY row_number() OVER (PARTITION BY id ORDER BY _airbyte_extracted_at DESC) = 1;

CREATE OR REPLACE TEMP VIEW latest_agents AS
SELECT * FROM agents
QUALIFY row_number() OVER (PARTITION BY id ORDER BY _airbyte_extracted_at DESC) = 1;

-- name: mean_time_to_close_by_team
-- Closed tickets (dateclosed set), by the team they were closed under, fastest first. Hours are
-- wall-clock hours from dateoccurred (logged) to dateclosed, not SLA working hours. Grouped by the
-- team's id (names need not be unique). LEFT JOIN: a ticket whose team_id has no row in teams stays
-- in the figures, under "(team_id N not in teams)"; unresolved_ids counts them, and it is 0 when the
-- teams stream has every team, inactive ones included.
SELECT
    coalesce(tm.name, '(team_id ' || coalesce(CAST(t.team_id AS VARCHAR), 'null') || ' not in teams)') AS team,
    count(*) AS closed_tickets,
    round(avg(date_diff('second', t.dateoccurred, t.dateclosed)) / 3600.0, 1) AS mean_hours_to_close,
    round(median(date_diff('second', t.dateoccurred, t.dateclosed)) / 3600.0, 1) AS median_hours_to_close,
    round(avg(date_diff('second', t.dateoccurred, t.dateclosed)) / 86400.0, 1) AS mean_days_to_close
FROM latest_tickets AS t
LEFT JOIN latest_teams AS tm ON tm.id = t.team_id
WHERE t.dateclosed IS NOT NULL
  AND t.dateoccurred IS NOT NULL
GROUP BY t.team_id, tm.name
ORDER BY mean_hours_to_close, team;

-- name: open_backlog_by_status
-- Open tickets (dateclosed IS NULL) by status, in the statuses' own order: how many, how many
-- distinct agents hold them (by agent id: two agents may share a name), how many of them are held
-- by disabled agents (they still carry the ticket), and the age of the oldest, in days.
--
-- Why dateclosed and not the status: Halo's statuses are per-instance configuration (ids differ
-- between instances, docs/halo-api.md 4.2) and what each value of statuses.type means is not
-- documented (the swagger says only "int32"; in the simulator 0 is open, 1 on hold, 2 closed).
-- dateclosed is a fact on the ticket itself: Halo sets it when the ticket closes and leaves its
-- "no date" on open tickets, which the connector emits as NULL. It is also the test the closing-time
-- query uses, so the two queries split the tickets the same way: every ticket is in exactly one.
-- statuses.type is shown so that a closed-type status in the backlog would stand out.
SELECT
    coalesce(st.name, '(status_id ' || coalesce(CAST(t.status_id AS VARCHAR), 'null') || ' not in statuses)') AS status,
    st.type AS status_type,
    count(*) AS open_tickets,
    count(DISTINCT ag.id) AS agents,
    count(*) FILTER (WHERE ag.isdisabled) AS with_disabled_agent,
    CAST(floor(max(date_diff('second', t.dateoccurred, current_timestamp AT TIME ZONE 'UTC')) / 86400) AS INTEGER) AS oldest_days
FROM latest_tickets AS t
LEFT JOIN latest_statuses AS st ON st.id = t.status_id
LEFT JOIN latest_agents AS ag ON ag.id = t.agent_id
WHERE t.dateclosed IS NULL
GROUP BY t.status_id, st.name, st.type, st.sequence
ORDER BY st.sequence NULLS LAST, status;

-- name: unresolved_ids
-- The check: tickets whose status_id / team_id / agent_id has no row in statuses / teams / agents
-- (all tickets, open and closed). Each should be 0: the reference streams ask Halo for inactive
-- rows too, and a ticket keeps the ids of disabled agents, inactive teams and so on.
SELECT
    count(*) AS tickets,
    count(*) FILTER (WHERE st.id IS NULL) AS status_id,
    count(*) FILTER (WHERE tm.id IS NULL) AS team_id,
    count(*) FILTER (WHERE ag.id IS NULL) AS agent_id
FROM latest_tickets AS t
LEFT JOIN latest_statuses AS st ON st.id = t.status_id
LEFT JOIN latest_teams AS tm ON tm.id = t.team_id
LEFT JOIN latest_agents AS ag ON ag.id = t.agent_id;
