-- Results are checked as workers report them (one JSON value, within the
-- size and depth limits) before they are stored. Older versions stored what
-- a worker sent unchecked, and a result is spliced as it is into replies and
-- into its dependants' arguments: a stored result that is not JSON (or nests
-- deeper than SQLite's JSON reader, 1000 levels) becomes the error it is, so
-- that it is answered as one and its dependants err instead of running on it.
UPDATE tasks
SET status = 'error',
    result = NULL,
    error = json_object(
      'name', 'BadResult',
      'message', 'the stored result of task ' || key || ' is not valid JSON, or nests more than 1000 levels deep: '
        || 'an older version of sluice stored what a worker reported without checking it',
      'traceback', '')
WHERE status = 'finished' AND result IS NOT NULL AND NOT json_valid(result);
