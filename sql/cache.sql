-- cache.sql: the inference cache's schema (docs/cache.md), compiled into semlite.so and run
-- by semlite_cache_enable(schema) with %SCHEMA% replaced by the quoted schema name. Every
-- statement is idempotent: enabling again keeps the entries, settings and counters.
--
-- Expiry and eviction are SQL triggers, so that any writer (another process, another
-- version of semlite) keeps the table within its limits the same way. The triggers
-- take "now" from the row being inserted: the clock is the writer's (injectable in
-- tests with semlite_cache_clock).

-- One row per cached result, keyed by its 128-bit content address (XXH3-128 of the
-- model's identity, the operation, and its inputs and parameters).
CREATE TABLE IF NOT EXISTS %SCHEMA%.semlite_cache (
  key BLOB PRIMARY KEY NOT NULL,          -- 16 bytes
  op TEXT NOT NULL,                       -- 'embed', 'rerank', 'embed_each', ...
  value BLOB NOT NULL,                    -- the result, exactly as the function returns it
  size INTEGER NOT NULL,                  -- length(value)
  created_at REAL NOT NULL,               -- unix seconds
  expires_at REAL,                        -- created_at + the op's ttl_seconds; NULL: never
  last_used REAL NOT NULL,                -- unix seconds of the insert or the last L2 hit
  hits INTEGER NOT NULL DEFAULT 0,        -- L2 hits
  evict_rank INTEGER NOT NULL DEFAULT 0   -- LFU: the LFU-DA priority; LRU: 0
) WITHOUT ROWID;

-- Eviction walks this index in order: lowest rank first, then least recently used.
CREATE INDEX IF NOT EXISTS %SCHEMA%.semlite_cache_evict_order
  ON semlite_cache(op, evict_rank, last_used, key);
CREATE INDEX IF NOT EXISTS %SCHEMA%.semlite_cache_expiry ON semlite_cache(op, expires_at);

-- What the user tunes, per operation. NULL limits mean none.
CREATE TABLE IF NOT EXISTS %SCHEMA%.semlite_cache_config (
  op TEXT PRIMARY KEY NOT NULL,
  ttl_seconds REAL CHECK (ttl_seconds IS NULL OR ttl_seconds > 0),
  max_entries INTEGER CHECK (max_entries IS NULL OR max_entries >= 0),
  max_bytes INTEGER CHECK (max_bytes IS NULL OR max_bytes >= 0),
  policy TEXT NOT NULL DEFAULT 'lru' CHECK (policy IN ('lru', 'lfu'))
);

-- What the triggers keep, per operation: the totals the limits are checked against
-- (so no insert counts the table), what left and why, and LFU-DA's age L.
CREATE TABLE IF NOT EXISTS %SCHEMA%.semlite_cache_counters (
  op TEXT PRIMARY KEY NOT NULL,
  entries INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0,
  evictions INTEGER NOT NULL DEFAULT 0,
  expired INTEGER NOT NULL DEFAULT 0,
  lfu_age INTEGER NOT NULL DEFAULT 0
);

-- 'enabled' (1 or 0) is what semlite_cache_enable/disable set for every connection;
-- 'version' is this schema's.
CREATE TABLE IF NOT EXISTS %SCHEMA%.semlite_cache_meta (
  name TEXT PRIMARY KEY NOT NULL,
  value ANY
);
INSERT OR IGNORE INTO %SCHEMA%.semlite_cache_meta VALUES ('version', 1), ('enabled', 1);

CREATE TRIGGER IF NOT EXISTS %SCHEMA%.semlite_cache_config_ai
AFTER INSERT ON semlite_cache_config BEGIN
  INSERT OR IGNORE INTO semlite_cache_counters(op) VALUES (NEW.op);
END;

-- Defaults: embeddings for 30 days, rerank scores for 24 hours.
INSERT OR IGNORE INTO %SCHEMA%.semlite_cache_config(op, ttl_seconds) VALUES
  ('embed', 2592000), ('embed_each', 2592000), ('synergy', 2592000),
  ('rerank', 86400), ('rerank_each', 86400);

-- Expiry, as a view whose INSTEAD OF INSERT trigger does the work, so that the insert
-- trigger and semlite_cache_clear_expired() run the same statements:
--   INSERT INTO semlite_cache_expire(now) VALUES (unix seconds)
CREATE VIEW IF NOT EXISTS %SCHEMA%.semlite_cache_expire(now) AS SELECT NULL;
CREATE TRIGGER IF NOT EXISTS %SCHEMA%.semlite_cache_expire_run
INSTEAD OF INSERT ON semlite_cache_expire BEGIN
  UPDATE semlite_cache_counters SET expired = expired +
    (SELECT count(*) FROM semlite_cache c
     WHERE c.op = semlite_cache_counters.op AND c.expires_at <= NEW.now)
  WHERE EXISTS (SELECT 1 FROM semlite_cache c
                WHERE c.op = semlite_cache_counters.op AND c.expires_at <= NEW.now);
  DELETE FROM semlite_cache
  WHERE op IN (SELECT op FROM semlite_cache_counters) AND expires_at <= NEW.now;
END;

-- Eviction of one op down to its limits, sparing the row `keep` (the one just inserted):
--   INSERT INTO semlite_cache_evict(op, keep) VALUES (...)
-- Victims are taken in index order until both limits hold, by a recursive walk that
-- reads only the victims (and one more row), whatever the size of the table. (The unary
-- + strips the walk's column affinities: with them SQLite would seek on evict_rank alone
-- and scan the rest of the op for every step.)
-- LFU-DA (Arlitt et al.): an entry's rank is L + its use count, where L, the op's age,
-- becomes the rank of the last entry evicted. New entries start at L + 1, so entries
-- that were popular long ago are eventually overtaken and leave.
-- Scratch for the eviction trigger; empty between statements.
CREATE TABLE IF NOT EXISTS %SCHEMA%.semlite_cache_victims (
  key BLOB PRIMARY KEY NOT NULL,
  evict_rank INTEGER NOT NULL
) WITHOUT ROWID;
CREATE VIEW IF NOT EXISTS %SCHEMA%.semlite_cache_evict(op, keep) AS SELECT NULL, NULL;
CREATE TRIGGER IF NOT EXISTS %SCHEMA%.semlite_cache_evict_run
INSTEAD OF INSERT ON semlite_cache_evict BEGIN
  -- The victims are listed first (the set is empty between statements): the counters
  -- must be read before the deletes change them.
  INSERT INTO semlite_cache_victims(key, evict_rank)
  SELECT key, evict_rank FROM (
    WITH RECURSIVE
      lim(need_n, need_b) AS (
        SELECT CASE WHEN g.max_entries IS NULL THEN 0 ELSE n.entries - g.max_entries END,
               CASE WHEN g.max_bytes IS NULL THEN 0 ELSE n.bytes - g.max_bytes END
        FROM semlite_cache_config g JOIN semlite_cache_counters n USING (op)
        WHERE g.op = NEW.op),
      walk(key, evict_rank, last_used, n, b) AS (
        SELECT c.key, c.evict_rank, c.last_used, 1, c.size
        FROM lim, semlite_cache c
        WHERE (lim.need_n > 0 OR lim.need_b > 0)
          AND c.key = (SELECT key FROM semlite_cache
                       WHERE op = NEW.op AND key IS NOT NEW.keep
                       ORDER BY evict_rank, last_used, key LIMIT 1)
        UNION ALL
        SELECT c.key, c.evict_rank, c.last_used, walk.n + 1, walk.b + c.size
        FROM walk, lim, semlite_cache c
        WHERE (walk.n < lim.need_n OR walk.b < lim.need_b)
          AND c.key = (SELECT key FROM semlite_cache
                       WHERE op = NEW.op AND key IS NOT NEW.keep
                         AND (evict_rank, last_used, key) > (+walk.evict_rank, +walk.last_used, +walk.key)
                       ORDER BY evict_rank, last_used, key LIMIT 1))
    SELECT key, evict_rank FROM walk);
  UPDATE semlite_cache_counters
  SET evictions = evictions + (SELECT count(*) FROM semlite_cache_victims),
      lfu_age = max(lfu_age, coalesce((SELECT max(evict_rank) FROM semlite_cache_victims), 0))
  WHERE op = NEW.op;
  DELETE FROM semlite_cache WHERE key IN (SELECT key FROM semlite_cache_victims);
  DELETE FROM semlite_cache_victims;
  -- A row that cannot fit on its own (max_entries 0, or larger than max_bytes) leaves too.
  UPDATE semlite_cache_counters SET evictions = evictions + 1
  WHERE op = NEW.op AND EXISTS (
    SELECT 1 FROM semlite_cache c JOIN semlite_cache_config g USING (op)
    WHERE c.key = NEW.keep AND (g.max_entries = 0 OR c.size > g.max_bytes));
  DELETE FROM semlite_cache WHERE key = NEW.keep AND EXISTS (
    SELECT 1 FROM semlite_cache_config g
    WHERE g.op = NEW.op AND (g.max_entries = 0 OR semlite_cache.size > g.max_bytes));
END;

-- An op seen for the first time gets the default settings (no expiry, no limits).
-- Expired rows go before the insert, so that an expired row under the same key makes
-- room for its replacement.
CREATE TRIGGER IF NOT EXISTS %SCHEMA%.semlite_cache_bi
BEFORE INSERT ON semlite_cache BEGIN
  INSERT OR IGNORE INTO semlite_cache_config(op) VALUES (NEW.op);
  INSERT INTO semlite_cache_expire(now) SELECT NEW.created_at WHERE EXISTS (
    SELECT 1 FROM semlite_cache
    WHERE op IN (SELECT op FROM semlite_cache_counters) AND expires_at <= NEW.created_at);
END;

CREATE TRIGGER IF NOT EXISTS %SCHEMA%.semlite_cache_ai
AFTER INSERT ON semlite_cache BEGIN
  UPDATE semlite_cache_counters SET entries = entries + 1, bytes = bytes + NEW.size
  WHERE op = NEW.op;
  UPDATE semlite_cache SET
    expires_at = NEW.created_at + (SELECT ttl_seconds FROM semlite_cache_config WHERE op = NEW.op),
    evict_rank = CASE (SELECT policy FROM semlite_cache_config WHERE op = NEW.op)
                 WHEN 'lfu' THEN (SELECT lfu_age FROM semlite_cache_counters WHERE op = NEW.op) + 1
                 ELSE 0 END
  WHERE key = NEW.key;
  INSERT INTO semlite_cache_evict(op, keep) SELECT NEW.op, NEW.key WHERE EXISTS (
    SELECT 1 FROM semlite_cache_config g JOIN semlite_cache_counters n USING (op)
    WHERE g.op = NEW.op AND (n.entries > g.max_entries OR n.bytes > g.max_bytes));
END;

CREATE TRIGGER IF NOT EXISTS %SCHEMA%.semlite_cache_ad
AFTER DELETE ON semlite_cache BEGIN
  UPDATE semlite_cache_counters SET entries = entries - 1, bytes = bytes - OLD.size
  WHERE op = OLD.op;
END;

-- An L2 hit (hits + 1): under LFU the entry's rank becomes L + its use count.
CREATE TRIGGER IF NOT EXISTS %SCHEMA%.semlite_cache_hit
AFTER UPDATE OF hits ON semlite_cache
WHEN (SELECT policy FROM semlite_cache_config WHERE op = NEW.op) = 'lfu' BEGIN
  UPDATE semlite_cache
  SET evict_rank = (SELECT lfu_age FROM semlite_cache_counters WHERE op = NEW.op) + NEW.hits + 1
  WHERE key = NEW.key;
END;

-- Settings apply at once: a new TTL to the entries already there, new limits and
-- policy by evicting now.
CREATE TRIGGER IF NOT EXISTS %SCHEMA%.semlite_cache_config_ttl
AFTER UPDATE OF ttl_seconds ON semlite_cache_config BEGIN
  UPDATE semlite_cache SET expires_at = created_at + NEW.ttl_seconds WHERE op = NEW.op;
END;
CREATE TRIGGER IF NOT EXISTS %SCHEMA%.semlite_cache_config_limits
AFTER UPDATE OF max_entries, max_bytes, policy ON semlite_cache_config BEGIN
  UPDATE semlite_cache SET evict_rank = CASE NEW.policy
    WHEN 'lfu' THEN (SELECT lfu_age FROM semlite_cache_counters WHERE op = NEW.op) + hits + 1
    ELSE 0 END
  WHERE op = NEW.op AND NEW.policy IS NOT OLD.policy;
  INSERT INTO semlite_cache_evict(op, keep) VALUES (NEW.op, NULL);
END;
