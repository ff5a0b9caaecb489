/*
** config.h: the CREATE VIRTUAL TABLE ... USING semlite_vec(...) language (config.c):
** parsing the arguments, the SQL they declare (the table, the shadow tables, the
** layout facts T_info records), keyword tables, and the check of metadata values.
*/
#ifndef SEMLITE_SQL_VEC_CONFIG_H
#define SEMLITE_SQL_VEC_CONFIG_H

#include "vec.h"

/* Parses the module arguments (argv[3..] of xCreate); vec0: the table was made with the
** module name vec0 (sqlite-vec's dialect, vec.h). On error cfg is freed. */
int vv_config_parse(int argc, const char *const *argv, int vec0, vv_config *cfg, sl_err *err);
void vv_config_free(vv_config *cfg);
/* "CREATE TABLE x(...)" for sqlite3_declare_vtab; sqlite3_free it. name: the table's,
** the hidden command column's, which an indexed table has (left out when a column has
** that name already). */
char *vv_config_declaration(const vv_config *cfg, const char *name);
/* The shadow tables' CREATE statements, one string, sqlite3_free it. */
char *vv_config_shadow_sql(const vv_config *cfg, const char *schema, const char *name);
/* The layout facts T_info records (key, value as text), checked again at every
** connect and read back by semlite_vec_check. */
#define VV_N_FACTS 8
typedef struct vv_fact {
  const char *key;
  char value[32];
} vv_fact;
void vv_config_facts(const vv_config *cfg, vv_fact facts[VV_N_FACTS]);
/* The other vector columns as T_info records them under "vectors" ("int8:8:l2,bit:16:
** hamming"; a table with one vector column has no such key). sqlite3_free it. */
char *vv_config_vectors_fact(const vv_config *cfg);
/* Keywords to enums (sl_knn_type_name and friends go the other way). */
int vv_metric_parse(const char *s, sl_metric *out);
int vv_vec_type_parse(const char *s, sl_vec_type *out);
int vv_quant_parse(const char *s, sl_quant *out);

/* Checks a metadata value against its column's type; REAL columns take INTEGER too. */
int vv_check_meta(const vv_column *col, sqlite3_value *v, sl_err *err);
/* vec0's check of an auxiliary value: a typed `+name type` column takes that storage
** class or NULL (semlite_vec takes the type as an affinity only). */
int vv_check_aux(const vv_column *col, sqlite3_value *v, sl_err *err);

#endif
