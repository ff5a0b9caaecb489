/*
** sql_synergy_read.c: the synergy tables of 'main' read into a run (ext/synergy/run.h):
** synergy_config row by row, the nodes (which entities and remote devices can take part,
** as one query), the capability rules and the member pairs of existing automations;
** then the run scored with the step caches of sql_synergy_steps.c.
*/
#include <string.h>

#include "sql_synergy.h"

static int db_fail(sqlite3 *db, sl_err *err) {
  return sl_fail_code(err, sqlite3_extended_errcode(db), "%s", sqlite3_errmsg(db));
}

static const char *text(sqlite3_stmt *st, int col) { return (const char *)sqlite3_column_text(st, col); }

/* Runs sql and hands each row to fn until it fails; SL_ERROR from fn or the statement. */
static int each_row(sqlite3 *db, const char *sql, int (*fn)(sl_syn_run *, sqlite3_stmt *, sl_err *),
                    sl_syn_run *run, sl_err *err) {
  sqlite3_stmt *st;
  int rc = SQLITE_DONE, failed = 0;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return db_fail(db, err);
  while (!failed && (rc = sqlite3_step(st)) == SQLITE_ROW) failed = fn(run, st, err);
  if (!failed && rc != SQLITE_DONE) failed = db_fail(db, err);
  sqlite3_finalize(st);
  return failed ? SL_ERROR : SL_OK;
}

/* ---- config ---- */

static int config_row(sl_syn_run *run, sqlite3_stmt *st, sl_err *err) {
  /* The storage class first: it is undefined after a conversion. */
  int type = sqlite3_column_type(st, 1);
  sl_syn_value v = {SL_SYN_NULL, sqlite3_column_int64(st, 1), sqlite3_column_double(st, 1), NULL};
  if (!text(st, 0)) return SL_OK;
  switch (type) {
    case SQLITE_INTEGER: v.type = SL_SYN_INTEGER; break;
    case SQLITE_FLOAT: v.type = SL_SYN_REAL; break;
    case SQLITE_TEXT: v.type = SL_SYN_TEXT, v.s = text(st, 1); break;
    case SQLITE_BLOB: v.type = SL_SYN_BLOB; break;
    default: break;
  }
  return sl_syn_run_config(run, text(st, 0), &v, err);
}

/* ---- the home ---- */

/* Live entities of domains some rule can use, and remotes: battery devices with no live
** entity but diagnostics, whose presses reach HA only as device triggers. Sorted by id. */
static const char nodes_sql[] =
  "WITH live AS (SELECT e.* FROM main.synergy_entities e"
  "  LEFT JOIN main.synergy_devices d ON d.device_id = e.device_id"
  "  WHERE e.disabled = 0 AND e.hidden = 0 AND coalesce(d.disabled, 0) = 0"
  "    AND coalesce(e.entity_category, '') NOT IN ('config', 'diagnostic')),"
  " used AS (SELECT trigger_domain AS domain FROM main.synergy_capabilities WHERE weight > 0"
  "  UNION SELECT action_domain FROM main.synergy_capabilities WHERE weight > 0)"
  "SELECT e.entity_id, e.domain, e.name, e.device_class, e.unit, e.area_id, a.name, e.device_id, d.name"
  "  FROM live e LEFT JOIN main.synergy_areas a ON a.area_id = e.area_id"
  "  LEFT JOIN main.synergy_devices d ON d.device_id = e.device_id"
  "  WHERE e.domain IN used OR EXISTS (SELECT 1 FROM used WHERE domain = '*')"
  " UNION ALL "
  "SELECT 'device:' || d.device_id, 'remote', d.name, 'device_trigger', NULL, d.area_id, a.name,"
  "       d.device_id, d.name"
  "  FROM main.synergy_devices d LEFT JOIN main.synergy_areas a ON a.area_id = d.area_id"
  "  WHERE d.disabled = 0"
  "    AND EXISTS (SELECT 1 FROM main.synergy_entities b WHERE b.device_id = d.device_id"
  "                AND b.domain = 'sensor' AND b.device_class = 'battery')"
  "    AND NOT EXISTS (SELECT 1 FROM live x WHERE x.device_id = d.device_id"
  "                AND (x.domain NOT IN ('sensor', 'button', 'update', 'select', 'number')"
  "                     OR (x.domain = 'sensor' AND x.device_class IS NOT NULL"
  "                         AND x.device_class NOT IN ('battery', 'signal_strength', 'voltage'))))"
  " ORDER BY 1";

/* Columns 0 .. n-1 of st (text or NULL), kept by the run, into *out[0 .. n-1]. */
static int keep_columns(sl_syn_run *run, sqlite3_stmt *st, const char **const *out, size_t n, sl_err *err) {
  int fail = 0;
  for (size_t i = 0; i < n; i++) *out[i] = sl_syn_run_keep(run, text(st, (int)i), &fail);
  return fail ? sl_oom(err) : SL_OK;
}

static int node_row(sl_syn_run *run, sqlite3_stmt *st, sl_err *err) {
  sl_syn_node *n = sl_syn_run_node(run, err);
  if (!n) return SL_ERROR;
  {
    const char **const cols[] = {&n->id, &n->domain, &n->name, &n->device_class, &n->unit, &n->area_id,
                                 &n->area_name, &n->device_id, &n->device_name};
    return keep_columns(run, st, cols, sizeof cols / sizeof cols[0], err);
  }
}

static int rule_row(sl_syn_run *run, sqlite3_stmt *st, sl_err *err) {
  sl_syn_rule *r = sl_syn_run_rule(run, err);
  if (!r) return SL_ERROR;
  r->weight = sqlite3_column_double(st, 5);
  {
    const char **const cols[] = {&r->trigger_domain, &r->trigger_class, &r->action_domain, &r->phrase, &r->verb};
    return keep_columns(run, st, cols, sizeof cols / sizeof cols[0], err);
  }
}

/* A trigger member and an action member of one automation. */
static int pair_row(sl_syn_run *run, sqlite3_stmt *st, sl_err *err) {
  sl_syn_pair *p = sl_syn_run_pair(run, err);
  if (!p) return SL_ERROR;
  {
    const char **const cols[] = {&p->trigger_entity, &p->trigger_device, &p->action_entity, &p->action_device};
    return keep_columns(run, st, cols, sizeof cols / sizeof cols[0], err);
  }
}

/* ---- the run ---- */

/* Whether sqlite3_interrupt was called on db: a nested statement then refuses to run.
** (sqlite3_is_interrupted is SQLite 3.41's; this works on every version.) */
static int interrupted(void *ctx) {
  sqlite3 *db = ctx;
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db, "SELECT 1", -1, &st, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_step(st);
  sqlite3_finalize(st);
  return rc == SQLITE_INTERRUPT;
}

int sl_synergy_run_prepare(sqlite3 *db, sl_syn_run *run, sl_err *err) {
  sl_synergy_steps steps;
  sl_err closing;
  int failed;
  sl_syn_run_init(run);
  run->home.interrupted = interrupted;
  run->home.interrupt_ctx = db;
  if (sqlite3_table_column_metadata(db, "main", "synergy_entities", NULL, NULL, NULL, NULL, NULL, NULL) != SQLITE_OK ||
      sqlite3_table_column_metadata(db, "main", "synergy_hop_scores", NULL, NULL, NULL, NULL, NULL, NULL) != SQLITE_OK)
    return sl_fail(err, "no synergy tables in 'main' (create them with semlite_ha_import)");
  sl_synergy_steps_open(&steps, db);
  failed = each_row(db, "SELECT key, value FROM main.synergy_config", config_row, run, err) ||
           sl_syn_run_config_end(run, err) || each_row(db, nodes_sql, node_row, run, err) ||
           each_row(db,
                    "SELECT trigger_domain, trigger_class, action_domain, phrase, verb, weight"
                    " FROM main.synergy_capabilities ORDER BY trigger_domain, trigger_class, action_domain",
                    rule_row, run, err) ||
           each_row(db,
                    "SELECT t.entity_id, t.device_id, a.entity_id, a.device_id"
                    " FROM main.synergy_automation_members t JOIN main.synergy_automation_members a"
                    "   ON a.automation_id = t.automation_id AND a.role = 'action'"
                    " WHERE t.role = 'trigger'",
                    pair_row, run, err) ||
           sl_syn_run_score(run, &steps.base, err);
  if (sl_synergy_steps_close(&steps, !failed, &closing) && !failed) {
    *err = closing;
    failed = 1;
  }
  if (failed) sl_syn_run_free(run);
  return failed ? SL_ERROR : SL_OK;
}
