-- PostgreSQL form of ../007_check_results.sql: nothing to do.
--
-- On SQLite this migration turns results stored unchecked by older versions
-- (not JSON, or nested deeper than SQLite's JSON reader) into errors. No
-- version of sluice before it stored anything in PostgreSQL, and results are
-- checked before they are stored, so there is nothing to repair here. The
-- file keeps the numbers of both schemas in step: version N means the same
-- tables on either store.
SELECT 1;
