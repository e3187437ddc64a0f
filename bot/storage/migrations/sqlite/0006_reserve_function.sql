-- 0006: nothing on SQLite. PostgreSQL's version adds switchboard_reserve, a function that
-- reserves against a budget in one round trip; SQLite runs the same rule in one trip to its
-- connection's thread already (BEGIN IMMEDIATE admits one writer at a time).
SELECT 1;
