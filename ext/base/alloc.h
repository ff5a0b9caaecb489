/*
** alloc.h: semlite's own heap. Every allocation semlite's code makes (not SQLite's, not
** the anonymous pages a model's weights are read into) goes through these functions, so
** that one hook decides them all: the C library until an allocator is installed, then the
** installed one. The SQL layer installs SQLite's (sqlite3_malloc64 and friends) when the
** extension is first loaded, so SQLite's memory statistics and heap limits count semlite's
** memory too, and an application's SQLITE_CONFIG_MALLOC (the OOM tests' countdown) fails
** semlite's allocations exactly as it fails SQLite's.
**
** Blocks are aligned to 16 bytes, as malloc's are, whatever the hook's alignment (SQLite
** promises 8). Memory from sl_malloc is freed with sl_free, never free(), and the other
** way round.
*/
#ifndef SEMLITE_ALLOC_H
#define SEMLITE_ALLOC_H

#include <stdarg.h>
#include <stddef.h>

typedef struct sl_allocator {
  void *(*xMalloc)(size_t n);
  void *(*xRealloc)(void *p, size_t n);
  void (*xFree)(void *p);
} sl_allocator;

/* Installs the allocator every later call uses. Only before the first allocation: a
** block must be freed by the allocator that made it, so a second call, or one after
** sl_malloc has been used, is ignored and returns SL_ERROR. */
int sl_alloc_install(const sl_allocator *a);

void *sl_malloc(size_t n);
void *sl_calloc(size_t count, size_t size);   /* zeroed; NULL when count*size overflows */
void *sl_realloc(void *p, size_t n);
void sl_free(void *p);
char *sl_strdup(const char *s);
/* printf into a new string; NULL when out of memory. */
char *sl_mprintf(const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 1, 2)))
#endif
  ;
char *sl_vmprintf(const char *fmt, va_list ap);

#endif
