-- The tenancy export of the Studentenwerk (schema "swdd"), which Pycroft only
-- reads: in production another system fills it, so no migration creates it.
-- The postgres image runs this file once, when it initialises the database.
CREATE SCHEMA IF NOT EXISTS swdd;

CREATE TABLE IF NOT EXISTS swdd.tenancy (
    id int PRIMARY KEY,
    person_id int NOT NULL,
    room text NOT NULL,
    begins_on date NOT NULL,
    ends_on date
);

INSERT INTO swdd.tenancy (id, person_id, room, begins_on, ends_on) VALUES
    (1, 1, 'WU5-0304', '2022-10-01', NULL),
    (2, 1, 'WU5-0101', '2020-01-01', '2022-09-30'),
    (3, 2, 'HSS-1207', '2021-04-01', NULL)
ON CONFLICT (id) DO NOTHING;
