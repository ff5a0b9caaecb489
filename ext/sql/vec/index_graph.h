/*
** index_graph.h: the in-memory image of a semlite_vec table's HNSW index (index_graph.c):
** every node's level, links, int8 code and row (rowid, and chunk and slot for the exact
** rescoring), a rowid -> node map, the entry point, and which nodes changed since the
** image was last written out. It is the node store vector/hnsw.h runs on
** (vv_graph_store), and what the process-wide ANN cache holds (vector/ann_cache.h);
** index_hnsw.c loads it from and writes it to the shadow tables. No SQLite here.
**
** Node ids are dense and reused: a removed node's id goes to a free list. A tombstone
** (a deleted row still routing searches until the next purge) keeps its links but
** leaves the rowid map.
*/
#ifndef SEMLITE_SQL_VEC_INDEX_GRAPH_H
#define SEMLITE_SQL_VEC_INDEX_GRAPH_H

#include "../../vector/hnsw.h"
#include "../../vector/layout.h"

typedef struct vv_graph {
  sl_hnsw_params p;
  sl_hnsw_top top;
  sl_chunk_layout code_lay;    /* a one-slot int8 layout: a node's code is qvec then params */
  size_t code_bytes;
  sl_distance_fn dot;          /* the int8 dot kernel (cosine from it and the stored norms) */
  uint32_t cap;                /* node ids are below cap */
  uint32_t n_nodes, n_dead;    /* nodes held (tombstones included), tombstones */
  int8_t *level;               /* -1: a free id */
  uint8_t *dead;
  int64_t *rowid, *chunk;
  int32_t *slot;
  uint32_t *l0;                /* cap * (1 + 2m): count, then ids */
  uint32_t **upper;            /* per node, levels 1..L: L * (1 + m), or NULL */
  unsigned char *codes;        /* cap * code_bytes */
  uint32_t *free_ids;
  size_t n_free;
  int64_t *hkeys;              /* rowid -> node, open addressing; hvals[i] SL_HNSW_NONE: empty */
  uint32_t *hvals;
  size_t hcap, hn;
  uint8_t *dirty;              /* per node: changed since the last write-out */
  uint32_t *dirty_list;
  size_t n_dirty, cap_dirty;
  int top_dirty;               /* bits: 1 the entry point changed, 2 every node is to be written */
} vv_graph;

/* An empty image for a float[dims] column with this metric (l2, cosine or dot). */
vv_graph *vv_graph_new(size_t dims, sl_metric metric, const sl_hnsw_params *p);
void vv_graph_free(vv_graph *g);
/* A deep copy (its dirty set empty), or NULL when memory is short. */
vv_graph *vv_graph_clone(const vv_graph *g);
/* Bytes it holds. */
size_t vv_graph_bytes(const vv_graph *g);

/* The node store vector/hnsw.h runs on. */
void vv_graph_store(vv_graph *g, sl_hnsw_store *s);

/* A new node for a row (its code from the float vector), unlinked: id in *node. Or a
** node read back from storage at a given id (vv_graph_put_node, code and links given).
** SL_ERROR when memory is short. */
int vv_graph_add(vv_graph *g, int64_t rowid, int64_t chunk, int32_t slot, const float *vec, int level,
                 uint32_t *node, sl_err *err);
int vv_graph_put_node(vv_graph *g, uint32_t node, int64_t rowid, int dead, int level, const unsigned char *code,
                      const unsigned char *links, size_t links_bytes, sl_err *err);
/* After the last vv_graph_put_node: the ids between nodes become free. */
int vv_graph_loaded(vv_graph *g, sl_err *err);
/* Sets the row position of a node read back from storage. */
void vv_graph_set_pos(vv_graph *g, uint32_t node, int64_t chunk, int32_t slot);

/* The live node of a rowid, or SL_HNSW_NONE. */
uint32_t vv_graph_find(const vv_graph *g, int64_t rowid);
/* Turns a row's node into a tombstone. */
void vv_graph_kill(vv_graph *g, uint32_t node);
/* A row keeps its node under a new rowid (UPDATE of the rowid alone). */
int vv_graph_rename(vv_graph *g, uint32_t node, int64_t rowid, sl_err *err);

/* A node's links in storage form: for each level 0..L a little-endian u32 count, then
** that many u32 ids. Into buf (room for vv_graph_links_max bytes); returns the size. */
size_t vv_graph_links_max(const vv_graph *g);
size_t vv_graph_links_encode(const vv_graph *g, uint32_t node, unsigned char *buf);

/* Marks a node changed (also done by the store's set_links and by add/kill/rename). */
void vv_graph_touch(vv_graph *g, uint32_t node);
/* Forgets the changes (they were written out). */
void vv_graph_clean(vv_graph *g);

#endif
