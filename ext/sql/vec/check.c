/*
** check.c: semlite_vec_check('table') (declared in ../sql.h), integrity_check for one
** semlite_vec table: returns 'ok' or one line per problem (at most VV_CHECK_MAX).
**
** It reads the shadow tables with its own queries (no virtual table object is needed,
** so it also works on a table whose declaration no longer matches its data; store.h
** needs one) and checks:
**   - T_info describes a layout we can read
**   - every chunk's BLOBs have the layout's sizes; float vectors of rows are finite
**   - valid slots and T_rowids agree one to one: each valid slot's rowid has a T_rowids
**     row that points back at that chunk and slot, and each T_rowids row at a valid slot
**   - the quantized copy of each row matches its float vector
**   - T_aux has exactly the rows of T_rowids
**   - the HNSW index, if any (index_hnsw.h): it loads (sizes, levels, no link to a missing
**     node, a valid entry point), every row has exactly one live node and no node
**     names a missing row, no node links to itself or twice to one node, and most
**     level-0 links are returned (links are made both ways; pruning drops a few)
**   - the IVF index, if any (index_ivf.h, vv_ivf_check): every row in exactly one list,
**     each assigned row in the list of its nearest centroid, codes of the right size
*/
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../vector/quant.h"
#include "config.h"
#include "index_hnsw.h"
#include "index_ivf.h"

#define VV_CHECK_MAX 100

typedef struct checker {
  sqlite3 *db;
  const char *name;
  sqlite3_str *out;
  int problems;
  sl_chunk_layout lay;
  int n_aux;
  int error;                   /* SQLite's code when the check itself failed (not the table) */
  char error_msg[256];
} checker;

/* A failure of the check rather than a problem of the table: out of memory, an I/O
** error. The function then returns it as an error, never a report. */
static void failed(checker *c, int rc) {
  if (c->error || rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return;
  if ((rc & 0xff) != SQLITE_NOMEM && (rc & 0xff) != SQLITE_IOERR && (rc & 0xff) != SQLITE_BUSY &&
      (rc & 0xff) != SQLITE_INTERRUPT && (rc & 0xff) != SQLITE_FULL)
    return;
  c->error = rc;
  snprintf(c->error_msg, sizeof c->error_msg, "%s", sqlite3_errmsg(c->db));
}

/* Finalizes st, keeping a failure of its last step (failed). */
static void done_with(checker *c, sqlite3_stmt *st) { failed(c, sqlite3_finalize(st)); }

static void problem(checker *c, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 2, 3)))
#endif
  ;

static void problem(checker *c, const char *fmt, ...) {
  char msg[SL_ERR_MAX];
  va_list ap;
  if (c->problems++ >= VV_CHECK_MAX) return;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (c->problems > 1) sqlite3_str_appendchar(c->out, 1, '\n');
  sqlite3_str_appendall(c->out, msg);
}

/* Prepares fmt, whose %w (up to four) are the table's name; NULL with a problem on
** failure. */
static sqlite3_stmt *query(checker *c, const char *fmt) {
  sqlite3_stmt *st = NULL;
  char *sql = sqlite3_mprintf(fmt, c->name, c->name, c->name, c->name);
  int rc = sql ? sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) : SQLITE_NOMEM;
  if (rc != SQLITE_OK) {
    failed(c, rc);
    if (!c->error) problem(c, "cannot read shadow tables: %s", sqlite3_errmsg(c->db));
    sqlite3_finalize(st);
    st = NULL;
  }
  sqlite3_free(sql);
  return st;
}

/* The layout from T_info. */
static int read_info(checker *c) {
  sqlite3_stmt *st = query(c, "SELECT key, value FROM \"%w_info\"");
  sl_vec_type type = SL_VEC_F32;
  sl_metric metric = SL_METRIC_L2;
  sl_quant quant = SL_QUANT_NONE;
  long long dims = 0, chunk = 0, version = 0;
  sl_err err;
  if (!st) return SL_ERROR;
  while (sqlite3_step(st) == SQLITE_ROW) {
    const char *k = (const char *)sqlite3_column_text(st, 0), *v = (const char *)sqlite3_column_text(st, 1);
    if (!k || !v) continue;
    if (!strcmp(k, "version")) version = sqlite3_column_int64(st, 1);
    else if (!strcmp(k, "type") && !vv_vec_type_parse(v, &type)) problem(c, "%s_info: unknown type '%s'", c->name, v);
    else if (!strcmp(k, "metric") && !vv_metric_parse(v, &metric)) problem(c, "%s_info: unknown metric '%s'", c->name, v);
    else if (!strcmp(k, "quantizer") && !vv_quant_parse(v, &quant)) problem(c, "%s_info: unknown quantizer '%s'", c->name, v);
    else if (!strcmp(k, "dims")) dims = sqlite3_column_int64(st, 1);
    else if (!strcmp(k, "chunk_size")) chunk = sqlite3_column_int64(st, 1);
    else if (!strcmp(k, "auxiliary")) c->n_aux = sqlite3_column_int(st, 1);
  }
  done_with(c, st);
  if (version != VV_FORMAT_VERSION) problem(c, "%s_info: format version %lld, expected %d", c->name, version, VV_FORMAT_VERSION);
  if (dims < 1 || dims > VV_MAX_DIMS) problem(c, "%s_info: bad dims %lld", c->name, dims);
  if (chunk < 8 || chunk > VV_MAX_CHUNK || chunk % 8) problem(c, "%s_info: bad chunk_size %lld", c->name, chunk);
  if (!c->problems && sl_knn_check_config(type, (size_t)dims, metric, quant, &err))
    problem(c, "%s_info: %s", c->name, err.msg);
  if (c->problems) return SL_ERROR;
  sl_chunk_layout_init(&c->lay, type, (size_t)dims, metric, quant, (size_t)chunk);
  return SL_OK;
}

/* Problems of one valid slot's vector and quantized copy. */
static void check_vector(checker *c, sqlite3_int64 chunk, size_t i, const unsigned char *vectors,
                         const unsigned char *qvectors, unsigned char *scratch) {
  const sl_chunk_layout *lay = &c->lay;
  const unsigned char *v = vectors + i * lay->vec_bytes;
  float *x = (float *)(void *)scratch;
  if (lay->type != SL_VEC_F32) return;
  memcpy(x, v, lay->vec_bytes);
  for (size_t d = 0; d < lay->dims; d++)
    if (!isfinite(x[d])) {
      problem(c, "chunk %lld slot %zu: element %zu of the vector is not finite", (long long)chunk, i, d);
      return;
    }
  if (qvectors) {
    unsigned char *q = scratch + lay->vec_bytes;
    sl_quantize(lay, x, q);
    if (memcmp(q, qvectors + sl_quant_vec_offset(lay, i), lay->qvec_bytes) != 0 ||
        memcmp(q + lay->qvec_bytes, qvectors + sl_quant_param_offset(lay, i), lay->qparam_bytes) != 0)
      problem(c, "chunk %lld slot %zu: the quantized copy does not match the vector", (long long)chunk, i);
  }
}

/* Walks the chunks; collects the valid slots into *slots. */
static int check_chunks(checker *c, sl_chunk_pos **slots, size_t *n_slots) {
  const sl_chunk_layout *lay = &c->lay;
  sqlite3_stmt *st = query(c, "SELECT chunk_id, validity, rowids, qvectors, vectors, version FROM \"%w_chunks\" ORDER BY chunk_id");
  unsigned char *scratch = sqlite3_malloc64(lay->vec_bytes + lay->qvec_bytes + lay->qparam_bytes + 8);
  size_t n = 0, cap = 0;
  sl_chunk_pos *out = NULL;
  int rc = SL_OK;
  if (!st || !scratch) {
    done_with(c, st);
    sqlite3_free(scratch);
    return SL_ERROR;
  }
  while (rc == SL_OK && sqlite3_step(st) == SQLITE_ROW) {
    sqlite3_int64 chunk = sqlite3_column_int64(st, 0);
    const unsigned char *valid = sqlite3_column_blob(st, 1), *rowids = sqlite3_column_blob(st, 2);
    const unsigned char *q = sqlite3_column_blob(st, 3), *vectors = sqlite3_column_blob(st, 4);
    size_t sizes[4] = {lay->validity_bytes, lay->rowids_bytes, lay->qvectors_bytes, lay->vectors_bytes};
    static const char *const what[4] = {"validity", "rowids", "qvectors", "vectors"};
    int bad = 0;
    for (int k = 0; k < 4; k++) {
      size_t got = (size_t)sqlite3_column_bytes(st, k + 1);
      if (got != sizes[k] || (k == 2 && (sqlite3_column_type(st, 3) == SQLITE_NULL) != (lay->quant == SL_QUANT_NONE))) {
        problem(c, "chunk %lld: %s is %zu bytes, expected %zu", (long long)chunk, what[k], got, sizes[k]);
        bad = 1;
      }
    }
    if (sqlite3_column_type(st, 5) != SQLITE_BLOB || sqlite3_column_bytes(st, 5) != VV_VERSION_BYTES) {
      problem(c, "chunk %lld: version is not a %d-byte BLOB", (long long)chunk, VV_VERSION_BYTES);
      bad = 1;
    }
    if (bad) continue;
    for (size_t i = 0; i < lay->cap; i++) {
      if (!sl_bit_get(valid, i)) continue;
      if (n == cap) {
        sl_chunk_pos *p = sqlite3_realloc64(out, (cap = cap ? 2 * cap : 1024) * sizeof *out);
        if (!p) { rc = SL_ERROR; break; }
        out = p;
      }
      out[n].chunk_id = chunk;
      out[n].slot = (sqlite3_int64)i;
      out[n].rowid = sl_rowid_get(rowids, i);
      n++;
      check_vector(c, chunk, i, vectors, lay->quant != SL_QUANT_NONE ? q : NULL, scratch);
    }
  }
  done_with(c, st);
  sqlite3_free(scratch);
  if (rc != SL_OK) {
    sqlite3_free(out);
    failed(c, SQLITE_NOMEM);
    return rc;
  }
  *slots = out;
  *n_slots = n;
  return SL_OK;
}

/* Merges the valid slots with T_rowids, both in (chunk, slot) order. */
static void check_rowids(checker *c, sl_chunk_pos *slots, size_t n) {
  sqlite3_stmt *st = query(c, "SELECT rowid, chunk_id, chunk_offset FROM \"%w_rowids\" ORDER BY chunk_id, chunk_offset");
  size_t i = 0;
  sl_chunk_pos prev = {.chunk_id = 0, .slot = -1};
  if (!st) return;
  if (n) qsort(slots, n, sizeof *slots, sl_chunk_pos_cmp);
  while (sqlite3_step(st) == SQLITE_ROW) {
    sl_chunk_pos r = {.chunk_id = sqlite3_column_int64(st, 1), .slot = sqlite3_column_int64(st, 2),
                      .rowid = sqlite3_column_int64(st, 0)};
    if (r.chunk_id == prev.chunk_id && r.slot == prev.slot) {
      problem(c, "rows %lld and %lld both claim chunk %lld slot %lld", (long long)prev.rowid, (long long)r.rowid,
              (long long)r.chunk_id, (long long)r.slot);
      continue;
    }
    prev = r;
    while (i < n && sl_chunk_pos_cmp(&slots[i], &r) < 0) {
      problem(c, "chunk %lld slot %lld holds row %lld, which %s_rowids does not place there", (long long)slots[i].chunk_id,
              (long long)slots[i].slot, (long long)slots[i].rowid, c->name);
      i++;
    }
    if (i < n && sl_chunk_pos_cmp(&slots[i], &r) == 0) {
      if (slots[i].rowid != r.rowid)
        problem(c, "chunk %lld slot %lld holds row %lld but %s_rowids places row %lld there", (long long)r.chunk_id,
                (long long)r.slot, (long long)slots[i].rowid, c->name, (long long)r.rowid);
      i++;
    } else {
      problem(c, "row %lld: chunk %lld slot %lld is not a valid slot", (long long)r.rowid, (long long)r.chunk_id,
              (long long)r.slot);
    }
  }
  for (; i < n; i++)
    problem(c, "chunk %lld slot %lld holds row %lld, which %s_rowids does not place there", (long long)slots[i].chunk_id,
            (long long)slots[i].slot, (long long)slots[i].rowid, c->name);
  done_with(c, st);
}

static void check_aux(checker *c) {
  sqlite3_stmt *st;
  if (!c->n_aux) return;
  st = query(c, "SELECT 'row ' || rowid || ' has no auxiliary values' FROM \"%w_rowids\" "
                "WHERE rowid NOT IN (SELECT rowid FROM \"%w_aux\") "
                "UNION ALL SELECT 'auxiliary values of row ' || rowid || ' belong to no row' FROM \"%w_aux\" "
                "WHERE rowid NOT IN (SELECT rowid FROM \"%w_rowids\")");
  if (!st) return;
  while (sqlite3_step(st) == SQLITE_ROW) problem(c, "%s", (const char *)sqlite3_column_text(st, 0));
  done_with(c, st);
}

/* Below this share of level-0 links returned, the graph is reported (percent). */
#define VV_CHECK_RECIPROCAL_PCT 50

static int has_link(const vv_graph *g, uint32_t from, uint32_t to) {
  const uint32_t *ln = g->l0 + (size_t)from * (1 + 2 * (size_t)g->p.m);
  for (uint32_t i = 1; i <= ln[0]; i++)
    if (ln[i] == to) return 1;
  return 0;
}

static void check_hnsw(checker *c) {
  sqlite3_stmt *st = query(c, "SELECT count(*) FROM sqlite_schema WHERE name = '%q_hnsw_nodes'");
  size_t links = 0, back = 0, rows = 0;
  vv_graph *g = NULL;
  sl_err err;
  int have;
  if (!st) return;
  have = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) > 0;
  done_with(c, st);
  if (!have) return;
  if (vv_hnsw_load(c->db, "main", c->name, c->lay.dims, c->lay.metric, &g, &err)) {
    problem(c, "hnsw index: %s", err.msg);
    return;
  }
  if ((st = query(c, "SELECT rowid FROM \"%w_rowids\""))) {
    while (sqlite3_step(st) == SQLITE_ROW) {
      sqlite3_int64 rowid = sqlite3_column_int64(st, 0);
      rows++;
      if (vv_graph_find(g, rowid) == SL_HNSW_NONE) problem(c, "hnsw index: row %lld has no node", (long long)rowid);
    }
    done_with(c, st);
  }
  if (g->n_nodes - g->n_dead != rows)
    problem(c, "hnsw index: %u live nodes for %zu rows", g->n_nodes - g->n_dead, rows);
  for (uint32_t id = 0; id < g->cap; id++) {
    for (int l = 0; l <= g->level[id]; l++) {
      const uint32_t *ln = l ? g->upper[id] + (size_t)(l - 1) * (1 + (size_t)g->p.m) : g->l0 + (size_t)id * (1 + 2 * (size_t)g->p.m);
      for (uint32_t i = 1; i <= ln[0]; i++) {
        if (ln[i] == id) problem(c, "hnsw index: node %u links to itself on level %d", id, l);
        for (uint32_t j = 1; j < i; j++)
          if (ln[j] == ln[i]) problem(c, "hnsw index: node %u links twice to node %u on level %d", id, ln[i], l);
        if (l == 0) links++, back += (size_t)has_link(g, ln[i], id);
      }
    }
  }
  if (links && back * 100 < links * VV_CHECK_RECIPROCAL_PCT)
    problem(c, "hnsw index: only %zu of %zu level-0 links are returned", back, links);
  vv_graph_free(g);
}

static void ivf_problem(void *c, const char *msg) { problem(c, "%s", msg); }

static void check_ivf(checker *c) {
  sqlite3_stmt *st = query(c, "SELECT count(*) FROM sqlite_schema WHERE name = '%q_ivf_lists'");
  int have;
  if (!st) return;
  have = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) > 0;
  done_with(c, st);
  if (have) failed(c, vv_ivf_check(c->db, c->name, c->lay.dims, c->lay.metric, ivf_problem, c));
}

void sl_sql_vec_check(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  static const char fn[] = "semlite_vec_check";
  checker c;
  sqlite3_stmt *st;
  sl_chunk_pos *slots = NULL;
  size_t n_slots = 0;
  int is_null, found, rc;
  char *result;

  memset(&c, 0, sizeof c);
  c.name = sl_sql_text_arg(ctx, fn, "table name", argv[0], &is_null);
  if (is_null) {
    sl_sql_errorf(ctx, fn, "the table name must be TEXT, got NULL");
    return;
  }
  if (!c.name) return;
  c.db = sqlite3_context_db_handle(ctx);
  if ((rc = sqlite3_prepare_v2(c.db, "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1 AND "
                                      "(sql LIKE 'CREATE VIRTUAL TABLE%USING semlite_vec%' OR "
                                      "sql LIKE 'CREATE VIRTUAL TABLE%USING vec0%')", -1, &st, NULL)) != SQLITE_OK) {
    if (rc == SQLITE_NOMEM) sqlite3_result_error_nomem(ctx);
    else sl_sql_errorf(ctx, fn, "%s", sqlite3_errmsg(c.db));
    return;
  }
  sqlite3_bind_text(st, 1, c.name, -1, SQLITE_STATIC);
  found = sqlite3_step(st) == SQLITE_ROW;
  if ((rc = sqlite3_finalize(st)) != SQLITE_OK) {
    if (rc == SQLITE_NOMEM) sqlite3_result_error_nomem(ctx);
    else sl_sql_errorf(ctx, fn, "%s", sqlite3_errmsg(c.db));
    return;
  }
  if (!found) {
    sl_sql_errorf(ctx, fn, "no semlite_vec table named '%s' in the main schema", c.name);
    return;
  }
  c.out = sqlite3_str_new(c.db);
  if (read_info(&c) == SL_OK && check_chunks(&c, &slots, &n_slots) == SL_OK) {
    check_rowids(&c, slots, n_slots);
    check_aux(&c);
    check_hnsw(&c);
    check_ivf(&c);
  }
  sqlite3_free(slots);
  if (c.error) {
    sqlite3_free(sqlite3_str_finish(c.out));
    if ((c.error & 0xff) == SQLITE_NOMEM) {
      sqlite3_result_error_nomem(ctx);
    } else {
      sl_sql_errorf(ctx, fn, "cannot read shadow tables: %s", c.error_msg);
      sqlite3_result_error_code(ctx, c.error);
    }
    return;
  }
  if (c.problems > VV_CHECK_MAX) sqlite3_str_appendf(c.out, "\n... and %d more problems", c.problems - VV_CHECK_MAX);
  if (sqlite3_str_errcode(c.out)) {
    sqlite3_free(sqlite3_str_finish(c.out));
    sqlite3_result_error_nomem(ctx);
    return;
  }
  result = sqlite3_str_finish(c.out);
  if (c.problems == 0) {
    sqlite3_free(result);
    sqlite3_result_text(ctx, "ok", -1, SQLITE_STATIC);
  } else {
    sqlite3_result_text(ctx, result, -1, sqlite3_free);
  }
}
