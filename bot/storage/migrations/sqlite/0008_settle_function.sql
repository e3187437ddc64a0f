-- 0008: nothing on SQLite. PostgreSQL's version adds switchboard_settle, a function that
-- settles a call in one round trip, and orders its ledger roll-ups so the most shared row is
-- locked last; SQLite settles in one trip to its connection's thread already, and its one
-- writer at a time (BEGIN IMMEDIATE) has no row locks to order.
SELECT 1;
