-- synergy.sql: the tables synergy_paths and synergy_links read (docs/synergy.md).
-- Run by semlite_ha_import (also with no argument, to create them empty for users who
-- fill them themselves). Idempotent: CREATE ... IF NOT EXISTS, and the default rows of
-- the capability and config tables are inserted only where the key is missing, so a
-- user's edits survive a re-import.

CREATE TABLE IF NOT EXISTS synergy_areas(
  area_id TEXT PRIMARY KEY,
  name    TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS synergy_devices(
  device_id    TEXT PRIMARY KEY,
  name         TEXT NOT NULL,
  manufacturer TEXT,
  model        TEXT,
  area_id      TEXT,
  disabled     INTEGER NOT NULL DEFAULT 0
);

-- entity_category 'config'/'diagnostic', disabled and hidden entities are never suggested.
CREATE TABLE IF NOT EXISTS synergy_entities(
  entity_id       TEXT PRIMARY KEY,
  domain          TEXT NOT NULL,
  name            TEXT NOT NULL,
  area_id         TEXT,             -- the entity's own area, else its device's
  device_id       TEXT,
  device_class    TEXT,
  unit            TEXT,
  platform        TEXT,
  entity_category TEXT,
  disabled        INTEGER NOT NULL DEFAULT 0,
  hidden          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS synergy_entities_device ON synergy_entities(device_id);

-- Existing automations: one row per automation, and its trigger and action members,
-- each an entity or (for device triggers and actions) a whole device.
CREATE TABLE IF NOT EXISTS synergy_automations(
  automation_id INTEGER PRIMARY KEY,
  alias         TEXT
);
CREATE TABLE IF NOT EXISTS synergy_automation_members(
  automation_id INTEGER NOT NULL REFERENCES synergy_automations(automation_id) ON DELETE CASCADE,
  role          TEXT NOT NULL CHECK (role IN ('trigger', 'action')),
  entity_id     TEXT,
  device_id     TEXT,
  CHECK ((entity_id IS NULL) <> (device_id IS NULL))
);
CREATE INDEX IF NOT EXISTS synergy_automation_members_auto ON synergy_automation_members(automation_id);

-- Group helpers (light/switch/binary_sensor groups, old-style `group.*`): a group's
-- members. An automation that targets a group targets each member.
CREATE TABLE IF NOT EXISTS synergy_groups(
  group_entity_id  TEXT NOT NULL,
  member_entity_id TEXT NOT NULL,
  PRIMARY KEY (group_entity_id, member_entity_id)
) WITHOUT ROWID;

-- The recorder's history (semlite_ha_history): how much more often the action entity
-- changed within the window after the trigger entity changed than chance would have it
-- (lift, 1 = chance), and on how many trigger changes that rests (support).
CREATE TABLE IF NOT EXISTS synergy_history(
  trigger_entity TEXT NOT NULL,
  action_entity  TEXT NOT NULL,
  lift           REAL NOT NULL,
  support        INTEGER NOT NULL,
  PRIMARY KEY (trigger_entity, action_entity)
) WITHOUT ROWID;

-- Which trigger can drive which action. trigger_class '*' matches any device class
-- (NULL included), action_domain '*' any domain. The most specific matching row wins:
-- exact class before '*', then exact action domain before '*'; weight 0 forbids.
-- phrase: how the trigger's change reads ("detects motion"); verb: what is done.
-- A button or remote exists to drive what is near it, so it weighs 1.0 on lights and
-- switches; a motion or occupancy sensor also serves alarms, presence and statistics, so
-- 0.8 (measured with bench/synergy_quality over every home: docs/synergy.md, Quality).
CREATE TABLE IF NOT EXISTS synergy_capabilities(
  trigger_domain TEXT NOT NULL,
  trigger_class  TEXT NOT NULL DEFAULT '*',
  action_domain  TEXT NOT NULL,
  weight         REAL NOT NULL CHECK (weight >= 0 AND weight <= 1),
  phrase         TEXT NOT NULL,
  verb           TEXT NOT NULL,
  PRIMARY KEY (trigger_domain, trigger_class, action_domain)
);

INSERT OR IGNORE INTO synergy_capabilities VALUES
  ('binary_sensor', 'motion',    'light',        0.8, 'detects motion', 'turn on'),
  ('binary_sensor', 'motion',    'switch',       0.7, 'detects motion', 'turn on'),
  ('binary_sensor', 'motion',    'scene',        0.6, 'detects motion', 'activate'),
  ('binary_sensor', 'motion',    'script',       0.5, 'detects motion', 'run'),
  ('binary_sensor', 'motion',    'fan',          0.4, 'detects motion', 'turn on'),
  ('binary_sensor', 'motion',    'climate',      0.4, 'detects motion', 'adjust'),
  ('binary_sensor', 'motion',    'media_player', 0.3, 'detects motion', 'turn on'),
  ('binary_sensor', 'motion',    'siren',        0.3, 'detects motion', 'sound'),
  ('binary_sensor', 'occupancy', 'light',        0.8, 'detects occupancy', 'turn on'),
  ('binary_sensor', 'occupancy', 'climate',      0.7, 'detects occupancy', 'adjust'),
  ('binary_sensor', 'occupancy', 'switch',       0.6, 'detects occupancy', 'turn on'),
  ('binary_sensor', 'occupancy', 'fan',          0.5, 'detects occupancy', 'turn on'),
  ('binary_sensor', 'presence',  'light',        0.8, 'detects presence', 'turn on'),
  ('binary_sensor', 'presence',  'climate',      0.7, 'detects presence', 'adjust'),
  ('binary_sensor', 'presence',  'switch',       0.6, 'detects presence', 'turn on'),
  ('binary_sensor', 'door',      'light',        0.8, 'opens', 'turn on'),
  ('binary_sensor', 'door',      'climate',      0.7, 'opens', 'pause'),
  ('binary_sensor', 'door',      'siren',        0.6, 'opens', 'sound'),
  ('binary_sensor', 'door',      'lock',         0.5, 'opens', 'lock'),
  ('binary_sensor', 'door',      'switch',       0.4, 'opens', 'turn on'),
  ('binary_sensor', 'door',      'cover',        0.3, 'opens', 'move'),
  ('binary_sensor', 'garage_door', 'light',      0.8, 'opens', 'turn on'),
  ('binary_sensor', 'window',    'climate',      0.9, 'opens', 'pause'),
  ('binary_sensor', 'window',    'fan',          0.5, 'opens', 'turn off'),
  ('binary_sensor', 'window',    'cover',        0.4, 'opens', 'move'),
  ('binary_sensor', 'window',    'siren',        0.4, 'opens', 'sound'),
  ('binary_sensor', 'opening',   'light',        0.7, 'opens', 'turn on'),
  ('binary_sensor', 'opening',   'climate',      0.7, 'opens', 'pause'),
  ('binary_sensor', 'moisture',  'valve',        1.0, 'detects water', 'close'),
  ('binary_sensor', 'moisture',  'switch',       0.8, 'detects water', 'turn off'),
  ('binary_sensor', 'moisture',  'siren',        0.8, 'detects water', 'sound'),
  ('binary_sensor', 'smoke',     'siren',        1.0, 'detects smoke', 'sound'),
  ('binary_sensor', 'smoke',     'light',        0.6, 'detects smoke', 'turn on'),
  ('binary_sensor', 'smoke',     'fan',          0.5, 'detects smoke', 'turn off'),
  ('binary_sensor', 'smoke',     'lock',         0.4, 'detects smoke', 'unlock'),
  ('binary_sensor', 'gas',       'valve',        1.0, 'detects gas', 'close'),
  ('binary_sensor', 'gas',       'siren',        1.0, 'detects gas', 'sound'),
  ('binary_sensor', 'gas',       'fan',          0.6, 'detects gas', 'turn on'),
  ('binary_sensor', 'carbon_monoxide', 'siren',  1.0, 'detects carbon monoxide', 'sound'),
  ('binary_sensor', 'carbon_monoxide', 'fan',    0.6, 'detects carbon monoxide', 'turn on'),
  ('binary_sensor', '*',         'light',        0.5, 'changes', 'switch'),
  ('binary_sensor', '*',         'switch',       0.5, 'changes', 'switch'),
  ('binary_sensor', '*',         'scene',        0.3, 'changes', 'activate'),
  ('binary_sensor', '*',         'script',       0.3, 'changes', 'run'),
  ('binary_sensor', '*',         'siren',        0.2, 'changes', 'sound'),
  ('binary_sensor', 'battery',   '*',            0.0, 'reports low battery', 'notify'),
  ('binary_sensor', 'battery_charging', '*',     0.0, 'charges', 'notify'),
  ('binary_sensor', 'connectivity', '*',         0.0, 'goes offline', 'notify'),
  ('binary_sensor', 'update',    '*',            0.0, 'has an update', 'notify'),
  ('binary_sensor', 'problem',   '*',            0.0, 'reports a problem', 'notify'),
  ('binary_sensor', 'tamper',    '*',            0.0, 'is tampered with', 'notify'),
  ('binary_sensor', 'plug',      'switch',       0.5, 'is plugged in', 'turn on'),
  ('binary_sensor', 'plug',      'light',        0.3, 'is plugged in', 'switch'),
  ('sensor', 'temperature',      'climate',      1.0, 'reports the temperature', 'regulate'),
  ('sensor', 'temperature',      'fan',          0.8, 'reports the temperature', 'turn on'),
  ('sensor', 'temperature',      'switch',       0.5, 'reports the temperature', 'switch'),
  ('sensor', 'temperature',      'cover',        0.3, 'reports the temperature', 'move'),
  ('sensor', 'humidity',         'humidifier',   1.0, 'reports the humidity', 'regulate'),
  ('sensor', 'humidity',         'fan',          0.9, 'reports the humidity', 'turn on'),
  ('sensor', 'humidity',         'valve',        0.8, 'reports the humidity', 'open'),
  ('sensor', 'humidity',         'light',        0.4, 'reports the humidity', 'switch'),
  ('sensor', 'humidity',         'switch',       0.5, 'reports the humidity', 'switch'),
  ('sensor', 'humidity',         'climate',      0.4, 'reports the humidity', 'adjust'),
  ('sensor', 'moisture',         'valve',        1.0, 'reports the moisture', 'open'),
  ('sensor', 'moisture',         'switch',       0.6, 'reports the moisture', 'switch'),
  ('sensor', 'illuminance',      'light',        1.0, 'reports the light level', 'turn on'),
  ('sensor', 'illuminance',      'cover',        0.7, 'reports the light level', 'move'),
  ('sensor', 'pm25',             'fan',          1.0, 'reports the air quality', 'turn on'),
  ('sensor', 'pm25',             'switch',       0.5, 'reports the air quality', 'switch'),
  ('sensor', 'pm10',             'fan',          1.0, 'reports the air quality', 'turn on'),
  ('sensor', 'aqi',              'fan',          1.0, 'reports the air quality', 'turn on'),
  ('sensor', 'carbon_dioxide',   'fan',          1.0, 'reports the CO2 level', 'turn on'),
  ('sensor', 'volatile_organic_compounds', 'fan', 0.9, 'reports the air quality', 'turn on'),
  ('sensor', 'power',            'light',        0.5, 'reports its power use', 'switch'),
  ('sensor', 'power',            'switch',       0.5, 'reports its power use', 'switch'),
  ('sensor', 'energy',           'switch',       0.3, 'reports its energy use', 'switch'),
  ('sensor', '*',                'light',        0.25, 'changes', 'switch'),
  ('sensor', '*',                'switch',       0.25, 'changes', 'switch'),
  ('sensor', '*',                'climate',      0.2, 'changes', 'adjust'),
  ('sensor', '*',                'fan',          0.2, 'changes', 'switch'),
  ('sensor', 'battery',          '*',            0.0, 'reports its battery', 'notify'),
  ('sensor', 'signal_strength',  '*',            0.0, 'reports its signal', 'notify'),
  ('sensor', 'timestamp',        '*',            0.0, 'changes', 'notify'),
  ('sensor', 'date',             '*',            0.0, 'changes', 'notify'),
  ('sensor', 'data_size',        '*',            0.0, 'changes', 'notify'),
  ('sensor', 'data_rate',        '*',            0.0, 'changes', 'notify'),
  ('sensor', 'voltage',          '*',            0.0, 'changes', 'notify'),
  ('sensor', 'distance',         '*',            0.0, 'changes', 'notify'),
  ('sensor', 'monetary',         '*',            0.0, 'changes', 'notify'),
  ('remote', '*',                'light',        1.0, 'is pressed', 'toggle'),
  ('remote', '*',                'switch',       1.0, 'is pressed', 'toggle'),
  ('remote', '*',                'scene',        0.8, 'is pressed', 'activate'),
  ('remote', '*',                'script',       0.8, 'is pressed', 'run'),
  ('remote', '*',                'cover',        0.7, 'is pressed', 'move'),
  ('remote', '*',                'media_player', 0.7, 'is pressed', 'control'),
  ('remote', '*',                'fan',          0.6, 'is pressed', 'toggle'),
  ('remote', '*',                'climate',      0.5, 'is pressed', 'adjust'),
  ('event', '*',                 'light',        1.0, 'fires', 'toggle'),
  ('event', '*',                 'switch',       1.0, 'fires', 'toggle'),
  ('event', '*',                 'scene',        0.8, 'fires', 'activate'),
  ('event', '*',                 'script',       0.8, 'fires', 'run'),
  ('event', '*',                 'cover',        0.7, 'fires', 'move'),
  ('button', '*',                'light',        0.6, 'is pressed', 'toggle'),
  ('button', '*',                'switch',       0.6, 'is pressed', 'toggle'),
  ('button', '*',                'scene',        0.5, 'is pressed', 'activate'),
  ('button', '*',                'script',       0.5, 'is pressed', 'run'),
  ('button', 'restart',          '*',            0.0, 'is pressed', 'notify'),
  ('button', 'identify',         '*',            0.0, 'is pressed', 'notify'),
  ('button', 'update',           '*',            0.0, 'is pressed', 'notify'),
  ('media_player', '*',          'light',        0.8, 'starts playing', 'dim'),
  ('media_player', '*',          'cover',        0.6, 'starts playing', 'close'),
  ('media_player', '*',          'media_player', 0.5, 'starts playing', 'pause'),
  ('media_player', '*',          'switch',       0.5, 'starts playing', 'switch'),
  ('media_player', '*',          'scene',        0.5, 'starts playing', 'activate'),
  ('switch', '*',                'light',        0.6, 'is switched', 'switch'),
  ('switch', '*',                'switch',       0.5, 'is switched', 'switch'),
  ('switch', '*',                'fan',          0.4, 'is switched', 'switch'),
  ('switch', '*',                'climate',      0.4, 'is switched', 'adjust'),
  ('switch', '*',                'media_player', 0.3, 'is switched', 'switch'),
  ('light', '*',                 'light',        0.5, 'is switched', 'follow with'),
  ('light', '*',                 'switch',       0.4, 'is switched', 'follow with'),
  ('light', '*',                 'media_player', 0.2, 'is switched', 'control'),
  ('cover', '*',                 'light',        0.4, 'moves', 'switch'),
  ('cover', '*',                 'climate',      0.3, 'moves', 'adjust'),
  ('lock', '*',                  'light',        0.6, 'is unlocked', 'turn on'),
  ('lock', '*',                  'climate',      0.5, 'is unlocked', 'adjust'),
  ('lock', '*',                  'alarm_control_panel', 0.7, 'is unlocked', 'disarm'),
  ('climate', '*',               'fan',          0.5, 'changes mode', 'switch'),
  ('climate', '*',               'switch',       0.4, 'changes mode', 'switch'),
  ('climate', '*',               'cover',        0.3, 'changes mode', 'move'),
  ('fan', '*',                   'light',        0.2, 'is switched', 'switch'),
  ('vacuum', '*',                'light',        0.3, 'starts cleaning', 'turn on'),
  ('vacuum', '*',                'media_player', 0.3, 'starts cleaning', 'pause'),
  ('alarm_control_panel', '*',   'siren',        1.0, 'is triggered', 'sound'),
  ('alarm_control_panel', '*',   'light',        0.7, 'is triggered', 'turn on'),
  ('alarm_control_panel', '*',   'lock',         0.7, 'is armed', 'lock'),
  ('alarm_control_panel', '*',   'cover',        0.5, 'is armed', 'close'),
  ('device_tracker', '*',        'light',        0.3, 'arrives or leaves', 'switch'),
  ('device_tracker', '*',        'climate',      0.4, 'arrives or leaves', 'adjust'),
  ('device_tracker', '*',        'lock',         0.4, 'arrives or leaves', 'lock'),
  ('device_tracker', '*',        'alarm_control_panel', 0.4, 'arrives or leaves', 'arm'),
  -- Graded fallbacks for plausible pairs the rows above leave out (issue 15): what a
  -- binary sensor of no class or of a class above drives less often, and `remote` (an IR
  -- or hub remote entity: remote.send_command, remote.turn_on) as an action.
  ('binary_sensor', '*',         'climate',      0.3, 'changes', 'adjust'),
  ('binary_sensor', '*',         'media_player', 0.3, 'changes', 'control'),
  ('binary_sensor', '*',         'fan',          0.3, 'changes', 'switch'),
  ('binary_sensor', '*',         'remote',       0.3, 'changes', 'control'),
  ('binary_sensor', 'occupancy', 'media_player', 0.5, 'detects occupancy', 'turn on'),
  ('binary_sensor', 'presence',  'media_player', 0.4, 'detects presence', 'turn on'),
  ('binary_sensor', 'window',    'remote',       0.5, 'opens', 'turn off'),
  ('binary_sensor', 'door',      'media_player', 0.3, 'opens', 'announce on'),
  ('sensor', 'temperature',      'remote',       0.6, 'reports the temperature', 'control'),
  ('event', '*',                 'fan',          0.6, 'fires', 'toggle'),
  ('event', '*',                 'media_player', 0.6, 'fires', 'control'),
  ('event', '*',                 'climate',      0.4, 'fires', 'adjust'),
  ('light', '*',                 'fan',          0.4, 'is switched', 'follow with'),
  ('media_player', '*',          'remote',       0.5, 'starts playing', 'control'),
  ('remote', '*',                'remote',       0.5, 'is pressed', 'control');

-- Weights and knobs, one row each (docs/synergy.md has the formula). Models by name;
-- NULL: the first loaded model of the kind, as embed(text) and rerank(q, d) choose.
CREATE TABLE IF NOT EXISTS synergy_config(
  key   TEXT PRIMARY KEY,
  value ANY
);
INSERT OR IGNORE INTO synergy_config VALUES
  ('w_capability', 0.40),   -- capability weight of the matching synergy_capabilities row
  ('w_area',       0.30),   -- same area 1, unknown area area_unknown, different areas 0
  ('w_name',       0.15),   -- shared words of the two names (Dice coefficient)
  ('w_embedding',  0.15),   -- cosine of the descriptor embeddings (clamped at 0)
  ('w_rerank',     0.20),   -- sigmoid of the cross-encoder logit of the hop's statement
  ('area_unknown', 0.25),
  ('candidates',   8),      -- links kept per trigger after the cheap score
  ('rerank_top',   32),     -- links (the best by the cheap score) the cross-encoder sees
  ('min_hop',      0.35),   -- hops below this are never extended into longer paths
  ('beam',         256),    -- paths kept per depth
  ('per_trigger',  5),      -- rows per trigger device (and depth) in synergy_links / synergy_paths
  ('depth_penalty', 0.9),   -- per hop beyond the first
  ('embed_model',  NULL),
  ('rerank_model', NULL),
  ('use_embedding', 1),     -- 0: no embedding signal even when a model is loaded
  ('use_rerank',   1);

-- The caches of the two model steps, keyed by the content address of a result: XXH3-128
-- of the model's identity (weights, vocabulary, configuration, dtype), the op and the
-- inputs (docs/cache.md), so a model re-saved with other weights gets other addresses.
-- A descriptor's embedding, one row per entity whose descriptor text it is:
CREATE TABLE IF NOT EXISTS synergy_descriptors(
  key       BLOB NOT NULL,
  entity_id TEXT NOT NULL,
  text      TEXT NOT NULL,
  embedding BLOB NOT NULL,
  PRIMARY KEY (key, entity_id)
) WITHOUT ROWID;

-- A hop statement's cross-encoder logit (for the one fixed query): a warm run reranks
-- nothing it has seen.
CREATE TABLE IF NOT EXISTS synergy_hop_scores(
  key   BLOB PRIMARY KEY,
  logit REAL NOT NULL
) WITHOUT ROWID;
