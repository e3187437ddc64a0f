-- 0009: nothing on SQLite. PostgreSQL's version adds switchboard_reserve_many, which reserves
-- a batch of calls under one lock of the budget rows; SQLite admits one writer at a time
-- (BEGIN IMMEDIATE), so reservations there take turns without row locks to share.
SELECT 1;
