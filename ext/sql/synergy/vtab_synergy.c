/*
** vtab_synergy.c: synergy_links and synergy_paths, eponymous table-valued functions over
** the synergy tables (docs/synergy.md). Arguments are hidden columns, as in SQLite's
** ext/misc/series.c, all optional:
**
**   SELECT * FROM synergy_links WHERE min_score = 0.5
**   SELECT * FROM synergy_paths WHERE max_depth = 3 AND min_score = 0.4
**
** xFilter runs the whole pipeline (sql_synergy_read.c, ext/synergy/run.c) and
** materialises the rows: a few thousand at most (links: candidates per trigger; paths:
** links + beam per level).
** DIRECTONLY: a scan writes the descriptor and hop-score caches, so it may not run from
** triggers, views or schema objects.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../base/alloc.h"
#include "../../ops/metrics.h"
#include "sql_synergy.h"

enum { MAX_ARGS = 3 };

typedef struct syn_kind {
  const char *fn;
  const char *schema;
  int first_arg;                       /* column of the first hidden argument */
  int n_args;
  const char *arg_names[MAX_ARGS];
} syn_kind;

enum { L_TRIGGER, L_ACTION, L_SCORE, L_CAPABILITY, L_AREA, L_NAME, L_EMBEDDING, L_RERANK, L_HISTORY,
       L_AUTOMATED, L_STATEMENT, L_SIGNALS, L_ALTERNATIVES, L_YAML, L_MIN_SCORE };
enum { P_PATH, P_DEPTH, P_SCORE, P_TRIGGER, P_ACTIONS, P_AUTOMATED, P_EXPLANATION, P_SIGNALS,
       P_ALTERNATIVES, P_YAML, P_MAX_DEPTH };

static const syn_kind links_kind = {
  "synergy_links",
  "CREATE TABLE x(trigger_entity TEXT, action_entity TEXT, score REAL, capability REAL, area REAL,"
  " name REAL, embedding REAL, rerank REAL, history REAL, automated INTEGER, statement TEXT, signals TEXT,"
  " alternatives TEXT, yaml TEXT, min_score HIDDEN, schema HIDDEN)",
  L_MIN_SCORE, 2, {"min_score", "schema"}};
static const syn_kind paths_kind = {
  "synergy_paths",
  "CREATE TABLE x(path TEXT, depth INTEGER, score REAL, trigger_entity TEXT, actions TEXT,"
  " automated INTEGER, explanation TEXT, signals TEXT, alternatives TEXT, yaml TEXT, max_depth HIDDEN,"
  " min_score HIDDEN, schema HIDDEN)",
  P_MAX_DEPTH, 3, {"max_depth", "min_score", "schema"}};

#define DEFAULT_MAX_DEPTH 3

typedef struct syn_vtab {
  sqlite3_vtab base;
  sqlite3 *db;
  const syn_kind *kind;
} syn_vtab;

/* The rows (sl_syn_rank: a link is a path of depth 2) above min_score, with their texts. */
typedef struct syn_cursor {
  sqlite3_vtab_cursor base;
  sl_syn_run run;
  int have_run;
  sqlite3_value *args[MAX_ARGS];
  sl_syn_rows ranked;
  char **text;                 /* per row: statement or explanation */
  size_t n, i;
} syn_cursor;

static int syn_connect(sqlite3 *db, const syn_kind *kind, sqlite3_vtab **out) {
  syn_vtab *v;
  int rc = sqlite3_declare_vtab(db, kind->schema);
  if (rc != SQLITE_OK) return rc;
  if (!(v = sqlite3_malloc(sizeof *v))) return SQLITE_NOMEM;
  memset(v, 0, sizeof *v);
  v->db = db;
  v->kind = kind;
  *out = &v->base;
  sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  return SQLITE_OK;
}

static int links_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out,
                         char **errmsg) {
  return syn_connect(db, &links_kind, out);
}

static int paths_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out,
                         char **errmsg) {
  return syn_connect(db, &paths_kind, out);
}

static int syn_disconnect(sqlite3_vtab *vtab) {
  sqlite3_free(vtab);
  return SQLITE_OK;
}

/* Each argument an equality on its hidden column; idxNum says which were given. */
static int syn_best_index(sqlite3_vtab *vtab, sqlite3_index_info *info) {
  const syn_kind *kind = ((syn_vtab *)vtab)->kind;
  int at[MAX_ARGS] = {-1, -1, -1};
  unsigned given = 0, unusable = 0;
  for (int i = 0; i < info->nConstraint; i++) {
    const struct sqlite3_index_constraint *c = &info->aConstraint[i];
    int a = c->iColumn - kind->first_arg;
    if (a < 0 || a >= kind->n_args || c->op != SQLITE_INDEX_CONSTRAINT_EQ) continue;
    if (!c->usable) {
      unusable |= 1u << a;
    } else if (at[a] < 0) {
      at[a] = i;
      given |= 1u << a;
    }
  }
  if (unusable & ~given) return SQLITE_CONSTRAINT;
  for (int a = 0, next = 1; a < kind->n_args; a++) {
    if (at[a] < 0) continue;
    info->aConstraintUsage[at[a]].argvIndex = next++;
    info->aConstraintUsage[at[a]].omit = 1;
  }
  info->idxNum = (int)given;
  info->estimatedCost = 1e6;
  info->estimatedRows = 1000;
  return SQLITE_OK;
}

static int syn_open(sqlite3_vtab *vtab, sqlite3_vtab_cursor **out) {
  syn_cursor *c = sqlite3_malloc(sizeof *c);
  if (!c) return SQLITE_NOMEM;
  memset(c, 0, sizeof *c);
  *out = &c->base;
  return SQLITE_OK;
}

static void syn_reset(syn_cursor *c) {
  for (size_t i = 0; c->text && i < c->n; i++) sl_free(c->text[i]);
  sl_free(c->text);
  c->text = NULL;
  sl_syn_rows_free(&c->ranked);
  c->n = c->i = 0;
  for (int a = 0; a < MAX_ARGS; a++) {
    sqlite3_value_free(c->args[a]);
    c->args[a] = NULL;
  }
  if (c->have_run) sl_syn_run_free(&c->run);
  c->have_run = 0;
}

static int syn_close(sqlite3_vtab_cursor *cur) {
  syn_reset((syn_cursor *)cur);
  sqlite3_free(cur);
  return SQLITE_OK;
}

/* A hop in words (explain.c). */
static char *hop_text(const sl_syn_run *run, const sl_syn_link *l) { return sl_syn_explain(&run->home, l); }

static char *path_text(const sl_syn_run *run, const sl_syn_path *p) {
  char *out = NULL;
  size_t len = 0;
  for (int h = 0; h < p->depth - 1; h++) {
    char *hop = hop_text(run, &run->graph.links[p->link[h]]);
    size_t n;
    char *grown;
    if (!hop) {
      sl_free(out);
      return NULL;
    }
    n = strlen(hop);
    if (!(grown = sl_realloc(out, len + n + 8))) {
      sl_free(hop);
      sl_free(out);
      return NULL;
    }
    out = grown;
    if (h > 0) {
      memcpy(out + len, " Then: ", 7);
      len += 7;
    }
    memcpy(out + len, hop, n + 1);
    len += n;
    sl_free(hop);
  }
  return out;
}

/* sl_syn_search over the cursor's run, timed as the synergy_search operation. */
static int timed_search(syn_cursor *c, int depth, sl_syn_path **out, size_t *n, sl_err *err) {
  uint64_t t0 = sl_metrics_now();
  int rc = sl_syn_search(&c->run.home, &c->run.graph, &c->run.cfg, depth, out, n, err);
  sl_metrics_record(SL_OP_SYNERGY_SEARCH, t0, 0, rc != SL_OK);
  return rc;
}

static int syn_filter(sqlite3_vtab_cursor *cur, int idx, const char *idx_str, int argc, sqlite3_value **argv) {
  syn_cursor *c = (syn_cursor *)cur;
  syn_vtab *v = (syn_vtab *)cur->pVtab;
  const syn_kind *kind = v->kind;
  double min_score = 0;
  const char *schema = "main";
  int max_depth = DEFAULT_MAX_DEPTH, a = 0;
  sl_err err;

  syn_reset(c);
  for (int k = 0; k < kind->n_args; k++) {
    sqlite3_value *val;
    if (!(idx & (1 << k))) continue;
    val = argv[a++];
    if (!(c->args[k] = sqlite3_value_dup(val))) return SQLITE_NOMEM;
    if (sqlite3_value_type(val) == SQLITE_NULL) return SQLITE_OK;   /* NULL argument: no rows */
    if (strcmp(kind->arg_names[k], "max_depth") == 0) {
      sqlite3_int64 d = sqlite3_value_int64(val);
      if (sqlite3_value_type(val) != SQLITE_INTEGER || d < SL_SYN_MIN_DEPTH || d > SL_SYN_MAX_DEPTH)
        return sl_vtab_error(cur->pVtab, kind->fn, "max_depth must be an integer from %d to %d", SL_SYN_MIN_DEPTH,
                             SL_SYN_MAX_DEPTH);
      max_depth = (int)d;
    } else if (strcmp(kind->arg_names[k], "schema") == 0) {
      schema = (const char *)sqlite3_value_text(c->args[k]);
      if (sqlite3_value_type(val) != SQLITE_TEXT || !schema ||
          (!sqlite3_db_filename(v->db, schema) && sqlite3_stricmp(schema, "temp") != 0))
        return sl_vtab_error(cur->pVtab, kind->fn, "schema must name an attached database, got '%s'",
                             schema ? schema : "");
    } else {
      int t = sqlite3_value_type(val);
      min_score = sqlite3_value_double(val);
      if ((t != SQLITE_INTEGER && t != SQLITE_FLOAT) || !(min_score >= 0 && min_score <= 1))
        return sl_vtab_error(cur->pVtab, kind->fn, "min_score must be a number from 0 to 1");
    }
  }

  /* A failure's code (out of memory, a transaction SQLite ended under a cache write) is
  ** the scan's (docs/security.md). */
  if (sl_synergy_run_prepare(v->db, schema, &c->run, &err)) return sl_vtab_fail(cur->pVtab, kind->fn, &err);
  c->have_run = 1;
  {
    sl_syn_path *paths;
    size_t n_paths;
    int rc;
    /* The links in the search's total order: depth-2 paths are exactly the links. */
    if (timed_search(c, kind == &links_kind ? 2 : max_depth, &paths, &n_paths, &err))
      return sl_vtab_fail(cur->pVtab, kind->fn, &err);
    rc = sl_syn_rank(&c->run.home, &c->run.cfg, paths, n_paths, &c->ranked, &err);
    sl_free(paths);
    if (rc) return sl_vtab_fail(cur->pVtab, kind->fn, &err);
  }
  if (!(c->text = sl_calloc(c->ranked.n ? c->ranked.n : 1, sizeof *c->text))) return SQLITE_NOMEM;
  for (size_t i = 0; i < c->ranked.n; i++) {
    const sl_syn_path *p = &c->ranked.rows[i];
    if (p->score < min_score) break;   /* sorted by score */
    c->text[c->n++] = kind == &links_kind ? hop_text(&c->run, &c->run.graph.links[p->link[0]]) : path_text(&c->run, p);
    if (!c->text[c->n - 1]) return SQLITE_NOMEM;
  }
  return SQLITE_OK;
}

static int syn_next(sqlite3_vtab_cursor *cur) {
  ((syn_cursor *)cur)->i++;
  return SQLITE_OK;
}

static int syn_eof(sqlite3_vtab_cursor *cur) {
  syn_cursor *c = (syn_cursor *)cur;
  return c->i >= c->n;
}

/* A JSON string. Ids are registry ids (ASCII letters, digits, '_', '.', ':'), but quote
** safely anyway. */
static void json_str(sqlite3_str *s, const char *id) {
  sqlite3_str_appendchar(s, 1, '"');
  for (const char *q = id; *q; q++) {
    if (*q == '"' || *q == '\\') sqlite3_str_appendchar(s, 1, '\\');
    if ((unsigned char)*q < 0x20) sqlite3_str_appendf(s, "\\u%04x", *q);
    else sqlite3_str_appendchar(s, 1, *q);
  }
  sqlite3_str_appendchar(s, 1, '"');
}

/* JSON array of the node ids [from, depth) of p. */
static void json_ids(sqlite3_str *s, const sl_syn_run *run, const sl_syn_path *p, int from) {
  sqlite3_str_appendchar(s, 1, '[');
  for (int i = from; i < p->depth; i++) {
    if (i > from) sqlite3_str_appendchar(s, 1, ',');
    json_str(s, run->nodes[p->node[i]].id);
  }
  sqlite3_str_appendchar(s, 1, ']');
}

/* The JSON text built in s as the column's value. */
static void result_json(sqlite3_context *ctx, sqlite3_str *s) {
  if (sqlite3_str_errcode(s)) {
    sqlite3_free(sqlite3_str_finish(s));
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sqlite3_result_text(ctx, sqlite3_str_finish(s), -1, sqlite3_free);
  sqlite3_result_subtype(ctx, SL_SUBTYPE_JSON);
}

static void result_ids(sqlite3_context *ctx, const sl_syn_run *run, const sl_syn_path *p, int from) {
  sqlite3_str *s = sqlite3_str_new(NULL);
  json_ids(s, run, p, from);
  result_json(ctx, s);
}

/* The other entity pairs (links) or paths of row r's devices, best first:
** [{"trigger_entity":..,"action_entity":..,"score":..}] / [{"path":[..],"score":..}]. */
static void result_alternatives(sqlite3_context *ctx, const syn_cursor *c, int links) {
  sqlite3_str *s = sqlite3_str_new(NULL);
  sqlite3_str_appendchar(s, 1, '[');
  for (size_t k = c->ranked.alt_first[c->i]; k < c->ranked.alt_first[c->i + 1]; k++) {
    const sl_syn_path *p = &c->ranked.alts[k];
    if (k > c->ranked.alt_first[c->i]) sqlite3_str_appendchar(s, 1, ',');
    if (links) {
      sqlite3_str_appendall(s, "{\"trigger_entity\":");
      json_str(s, c->run.nodes[p->node[0]].id);
      sqlite3_str_appendall(s, ",\"action_entity\":");
      json_str(s, c->run.nodes[p->node[1]].id);
    } else {
      sqlite3_str_appendall(s, "{\"path\":");
      json_ids(s, &c->run, p, 0);
    }
    sqlite3_str_appendf(s, ",\"score\":%.4f}", p->score);
  }
  sqlite3_str_appendchar(s, 1, ']');
  result_json(ctx, s);
}

/* The row's hops as HA automations (yaml.c). */
static void result_yaml(sqlite3_context *ctx, const sl_syn_run *run, const sl_syn_path *p) {
  char *y = sl_syn_yaml(&run->home, &run->graph, p);
  if (!y) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sqlite3_result_text(ctx, y, -1, sl_free);
}

static int syn_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col) {
  syn_cursor *c = (syn_cursor *)cur;
  const syn_kind *kind = ((syn_vtab *)cur->pVtab)->kind;
  const sl_syn_path *p = &c->ranked.rows[c->i];
  const char *text = c->text[c->i];
  const sl_syn_run *run = &c->run;

  if (col >= kind->first_arg) {
    sqlite3_result_value(ctx, c->args[col - kind->first_arg]);
    return SQLITE_OK;
  }
  if (kind == &links_kind) {
    const sl_syn_link *l = &run->graph.links[p->link[0]];
    switch (col) {
      case L_TRIGGER: sqlite3_result_text(ctx, run->nodes[l->t].id, -1, SQLITE_TRANSIENT); break;
      case L_ACTION: sqlite3_result_text(ctx, run->nodes[l->a].id, -1, SQLITE_TRANSIENT); break;
      case L_SCORE: sqlite3_result_double(ctx, l->score); break;
      case L_CAPABILITY: sqlite3_result_double(ctx, l->capability); break;
      case L_AREA: sqlite3_result_double(ctx, l->area); break;
      case L_NAME: sqlite3_result_double(ctx, l->name); break;
      case L_EMBEDDING:
        if (run->home.vecs) sqlite3_result_double(ctx, l->embedding);
        else sqlite3_result_null(ctx);
        break;
      case L_RERANK:
        if (l->rerank == l->rerank) sqlite3_result_double(ctx, l->rerank);
        else sqlite3_result_null(ctx);
        break;
      case L_HISTORY:
        if (run->home.has_history) sqlite3_result_double(ctx, l->history);
        else sqlite3_result_null(ctx);
        break;
      case L_AUTOMATED: sqlite3_result_int(ctx, l->automated); break;
      case L_STATEMENT: sqlite3_result_text(ctx, text, -1, SQLITE_TRANSIENT); break;
      case L_ALTERNATIVES: result_alternatives(ctx, c, 1); break;
      case L_YAML: result_yaml(ctx, run, p); break;
      default: sqlite3_result_text(ctx, run->signals, -1, SQLITE_TRANSIENT); break;
    }
  } else {
    switch (col) {
      case P_PATH: result_ids(ctx, run, p, 0); break;
      case P_DEPTH: sqlite3_result_int(ctx, p->depth); break;
      case P_SCORE: sqlite3_result_double(ctx, p->score); break;
      case P_TRIGGER: sqlite3_result_text(ctx, run->nodes[p->node[0]].id, -1, SQLITE_TRANSIENT); break;
      case P_ACTIONS: result_ids(ctx, run, p, 1); break;
      case P_AUTOMATED: sqlite3_result_int(ctx, p->automated); break;
      case P_EXPLANATION: sqlite3_result_text(ctx, text, -1, SQLITE_TRANSIENT); break;
      case P_ALTERNATIVES: result_alternatives(ctx, c, 0); break;
      case P_YAML: result_yaml(ctx, run, p); break;
      default: sqlite3_result_text(ctx, run->signals, -1, SQLITE_TRANSIENT); break;
    }
  }
  return SQLITE_OK;
}

static int syn_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid) {
  *rowid = (sqlite3_int64)((syn_cursor *)cur)->i;
  return SQLITE_OK;
}

#define SYN_MODULE(connect) {                                                            \
  .iVersion = 0, .xConnect = connect, .xBestIndex = syn_best_index,                      \
  .xDisconnect = syn_disconnect, .xOpen = syn_open, .xClose = syn_close,                \
  .xFilter = syn_filter, .xNext = syn_next, .xEof = syn_eof, .xColumn = syn_column,     \
  .xRowid = syn_rowid}

sqlite3_module sl_synergy_links_module = SYN_MODULE(links_connect);
sqlite3_module sl_synergy_paths_module = SYN_MODULE(paths_connect);
