/*
** sql_scripts.h: the SQL files of sql/ as compiled into the .so (generated at build time
** by tools/embed_sql.c into $(BUILD)/gen/sql_scripts.c).
*/
#ifndef SEMLITE_SQL_SCRIPTS_H
#define SEMLITE_SQL_SCRIPTS_H

/* The text of sql/<name> ("cache.sql") as it was at build time, or NULL. */
const char *sl_sql_script(const char *name);

#endif
