-- 0010: nothing on SQLite. PostgreSQL's version settles a batch of calls in one statement
-- and makes its roll-up trigger one per statement; SQLite admits one writer at a time
-- (BEGIN IMMEDIATE), so settlements there take turns without row locks to share.
SELECT 1;
