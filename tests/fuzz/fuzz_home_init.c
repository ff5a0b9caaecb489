/*
** fuzz_home_init.c: registers semlite_ha_import on a connection for fuzz_home.c, as
** semlite.c does (same flags), with the extension API pointer the SQL layer calls through.
*/
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1

#include "../../ext/sql/sql.h"

int fuzz_home_init(sqlite3 *db, char **errmsg, const sqlite3_api_routines *api);

int fuzz_home_init(sqlite3 *db, char **errmsg, const sqlite3_api_routines *api) {
  SQLITE_EXTENSION_INIT2(api);
  (void)errmsg;
  return sqlite3_create_function_v2(db, "semlite_ha_import", -1, SQLITE_UTF8 | SQLITE_DIRECTONLY, NULL,
                                    sl_sql_ha_import, NULL, NULL, NULL);
}
