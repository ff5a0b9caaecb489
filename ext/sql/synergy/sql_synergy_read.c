/*
** sql_synergy_read.c: the synergy tables of a schema ('main' unless named) read into a run (ext/synergy/run.h):
** synergy_config row by row, the nodes (which entities and remote devices can take part,
** as one query), the capability rules, the member pairs of existing automations (groups
** expanded), the areas and the recorder's history rows (synergy_groups and
** synergy_history may be missing in a database an older version made);
** then the run scored with the step caches of sql_synergy_steps.c.
*/
#include <stdio.h>
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

/* The queries below name each table of the synergy schema as {s}.table; with_schema
** gives them the schema the caller names. */

/* Live entities of domains some rule can use, and remotes: battery
** devices with no live entity but diagnostics, whose presses reach HA only as device
** triggers. A group helper with no class or area of its own takes its members' (the most
** common class; the area when they share one), and a member names its group. Sorted by id.
** grp is synergy_groups, or empty in a database made before it. */
static const char nodes_sql[] =
  "WITH grp AS (%s),"
  " live AS (SELECT e.* FROM {s}.synergy_entities e"
  "  LEFT JOIN {s}.synergy_devices d ON d.device_id = e.device_id"
  "  WHERE e.disabled = 0 AND e.hidden = 0 AND coalesce(d.disabled, 0) = 0"
  "    AND coalesce(e.entity_category, '') NOT IN ('config', 'diagnostic')),"
  " used AS (SELECT trigger_domain AS domain FROM {s}.synergy_capabilities WHERE weight > 0"
  "  UNION SELECT action_domain FROM {s}.synergy_capabilities WHERE weight > 0),"
  " nodes AS (SELECT e.entity_id, e.domain, e.name,"
  "   coalesce(e.device_class, (SELECT m.device_class FROM grp JOIN {s}.synergy_entities m"
  "     ON m.entity_id = grp.member WHERE grp.g = e.entity_id AND m.device_class IS NOT NULL"
  "     GROUP BY m.device_class ORDER BY count(*) DESC, m.device_class LIMIT 1)) AS device_class,"
  "   e.unit,"
  "   coalesce(e.area_id, (SELECT CASE WHEN count(DISTINCT m.area_id) = 1 AND count(*) = count(m.area_id)"
  "     THEN max(m.area_id) END FROM grp JOIN {s}.synergy_entities m ON m.entity_id = grp.member"
  "     WHERE grp.g = e.entity_id)) AS area_id, e.device_id"
  "  FROM live e WHERE e.domain IN used OR EXISTS (SELECT 1 FROM used WHERE domain = '*'))"
  "SELECT n.entity_id, n.domain, n.name, n.device_class, n.unit, n.area_id, a.name, n.device_id, d.name,"
  "       (SELECT min(grp.g) FROM grp JOIN live x ON x.entity_id = grp.g WHERE grp.member = n.entity_id)"
  "  FROM nodes n LEFT JOIN {s}.synergy_areas a ON a.area_id = n.area_id"
  "  LEFT JOIN {s}.synergy_devices d ON d.device_id = n.device_id"
  " UNION ALL "
  "SELECT 'device:' || d.device_id, 'remote', d.name, 'device_trigger', NULL, d.area_id, a.name,"
  "       d.device_id, d.name, NULL"
  "  FROM {s}.synergy_devices d LEFT JOIN {s}.synergy_areas a ON a.area_id = d.area_id"
  "  WHERE d.disabled = 0"
  "    AND EXISTS (SELECT 1 FROM {s}.synergy_entities b WHERE b.device_id = d.device_id"
  "                AND b.domain = 'sensor' AND b.device_class = 'battery')"
  "    AND NOT EXISTS (SELECT 1 FROM live x WHERE x.device_id = d.device_id"
  "                AND (x.domain NOT IN ('sensor', 'button', 'update', 'select', 'number')"
  "                     OR (x.domain = 'sensor' AND x.device_class IS NOT NULL"
  "                         AND x.device_class NOT IN ('battery', 'signal_strength', 'voltage'))))"
  " ORDER BY 1";

static const char groups_sql[] = "SELECT group_entity_id AS g, member_entity_id AS member FROM {s}.synergy_groups";
static const char no_groups_sql[] = "SELECT NULL AS g, NULL AS member WHERE 0";

static const char rules_sql[] =
  "SELECT trigger_domain, trigger_class, action_domain, phrase, verb, weight"
  " FROM {s}.synergy_capabilities ORDER BY trigger_domain, trigger_class, action_domain";

/* The member pairs of existing automations; a group among them stands for its members too. */
static const char pairs_sql[] =
  "WITH grp AS (%s),"
  " m AS (SELECT automation_id, role, entity_id, device_id FROM {s}.synergy_automation_members"
  "  UNION SELECT am.automation_id, am.role, grp.member, NULL FROM {s}.synergy_automation_members am"
  "   JOIN grp ON grp.g = am.entity_id)"
  "SELECT t.entity_id, t.device_id, a.entity_id, a.device_id"
  " FROM m t JOIN m a ON a.automation_id = t.automation_id AND a.role = 'action'"
  " WHERE t.role = 'trigger'";

static const char areas_sql[] = "SELECT area_id, name FROM {s}.synergy_areas ORDER BY area_id";
static const char history_sql[] = "SELECT trigger_entity, action_entity, lift, support FROM {s}.synergy_history";

/* The template with every {s} the schema's quoted name, and a %s (when given) sub;
** sqlite3_free it. NULL when out of memory. */
static char *with_schema(const char *tmpl, const char *schema, const char *sub) {
  char *q = sqlite3_mprintf("\"%w\"", schema), *out = NULL;
  sqlite3_str *s = sqlite3_str_new(NULL);
  if (q) {
    for (const char *p = tmpl; *p; p++) {
      if (strncmp(p, "{s}", 3) == 0) {
        sqlite3_str_appendall(s, q);
        p += 2;
      } else if (sub && p[0] == '%' && p[1] == 's') {
        sqlite3_str_appendall(s, sub);
        p++;
      } else {
        sqlite3_str_appendchar(s, 1, *p);
      }
    }
  }
  out = sqlite3_str_finish(s);
  sqlite3_free(q);
  if (!q) {
    sqlite3_free(out);
    out = NULL;
  }
  return out;
}

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
                                 &n->area_name, &n->device_id, &n->device_name, &n->group_id};
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

static int area_row(sl_syn_run *run, sqlite3_stmt *st, sl_err *err) {
  sl_syn_area *a = sl_syn_run_area(run, err);
  if (!a) return SL_ERROR;
  {
    const char **const cols[] = {&a->id, &a->name};
    return keep_columns(run, st, cols, 2, err);
  }
}

static int history_row(sl_syn_run *run, sqlite3_stmt *st, sl_err *err) {
  sl_syn_history_row *h = sl_syn_run_history(run, err);
  if (!h) return SL_ERROR;
  h->lift = sqlite3_column_double(st, 2);
  h->support = sqlite3_column_int64(st, 3);
  run->has_history = 1;
  {
    const char **const cols[] = {&h->trigger_entity, &h->action_entity};
    return keep_columns(run, st, cols, 2, err);
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

static int has_table(sqlite3 *db, const char *schema, const char *table) {
  return sqlite3_table_column_metadata(db, schema, table, NULL, NULL, NULL, NULL, NULL, NULL) == SQLITE_OK;
}

/* each_row over a query of the synergy schema (with_schema's template and sub). */
static int each_query(sqlite3 *db, const char *schema, const char *tmpl, const char *sub,
                      int (*fn)(sl_syn_run *, sqlite3_stmt *, sl_err *), sl_syn_run *run, sl_err *err) {
  char *sql = with_schema(tmpl, schema, sub);
  int rc;
  if (!sql) return sl_oom(err);
  rc = each_row(db, sql, fn, run, err);
  sqlite3_free(sql);
  return rc;
}

int sl_synergy_run_prepare(sqlite3 *db, const char *schema, sl_syn_run *run, sl_err *err) {
  sl_synergy_steps steps;
  sl_err closing;
  char *grp = NULL;
  int failed;
  sl_syn_run_init(run);
  snprintf(run->progress_target, sizeof run->progress_target, "%s", schema);
  run->home.interrupted = interrupted;
  run->home.interrupt_ctx = db;
  if (!has_table(db, schema, "synergy_entities") || !has_table(db, schema, "synergy_hop_scores"))
    return sl_fail(err, "no synergy tables in '%s' (create them with semlite_ha_import)", schema);
  if (!(grp = with_schema(has_table(db, schema, "synergy_groups") ? groups_sql : no_groups_sql, schema, NULL)))
    return sl_oom(err);
  sl_synergy_steps_open(&steps, db, schema);
  failed = each_query(db, schema, "SELECT key, value FROM {s}.synergy_config", NULL, config_row, run, err) ||
           sl_syn_run_config_end(run, err) || each_query(db, schema, nodes_sql, grp, node_row, run, err) ||
           each_query(db, schema, rules_sql, NULL, rule_row, run, err) ||
           each_query(db, schema, pairs_sql, grp, pair_row, run, err) ||
           each_query(db, schema, areas_sql, NULL, area_row, run, err) ||
           (has_table(db, schema, "synergy_history") &&
            each_query(db, schema, history_sql, NULL, history_row, run, err)) ||
           sl_syn_run_score(run, &steps.base, err);
  sqlite3_free(grp);
  if (sl_synergy_steps_close(&steps, !failed, &closing) && !failed) {
    *err = closing;
    failed = 1;
  }
  if (failed) sl_syn_run_free(run);
  return failed ? SL_ERROR : SL_OK;
}
