/*
** identity.h: the model a semlite_vec table's vectors come from (model=), remembered in
** its T_info shadow table when the table is created (keys model_folder, model_kind,
** model_dim, model_dtype, model_weights: ext/ops/fingerprint.h), so that a later
** embed-on-insert with no model of that name loaded says which folder to load, and one
** with another model under that name is refused instead of mixing vectors of two models.
** Tables created before the record existed have none and are checked as before.
*/
#ifndef SEMLITE_SQL_VEC_IDENTITY_H
#define SEMLITE_SQL_VEC_IDENTITY_H

#include "vec.h"

/* Writes the fingerprint of the model now loaded as t->cfg.model into T_info. */
int vv_identity_record(vv_table *t);

/* SQLITE_OK when t records no model, or when the model loaded as t->cfg.model has the
** recorded fingerprint, or when no model has that name and t records none (the caller's
** message then applies). Otherwise sets the table's error: the folder to load, or how the
** loaded model differs. */
int vv_identity_check(vv_table *t);

#endif
