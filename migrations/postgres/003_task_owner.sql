-- PostgreSQL form of ../003_task_owner.sql.

-- The holder a task is submitted with lives in its own row. Most tasks have
-- only that one, and a row in holds cost a write into two more random-order
-- indexes per task. Later holders (channels, other clients, dependants) still
-- go to holds.
ALTER TABLE tasks ADD COLUMN owner TEXT COLLATE "C";
CREATE INDEX tasks_by_owner ON tasks (owner) WHERE owner IS NOT NULL;
