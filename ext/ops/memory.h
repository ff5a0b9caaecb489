/*
** memory.h: the facts semlite_memory shows that no other file owns: the largest
** forward-pass scratch so far and the process's current and peak RSS.
*/
#ifndef SEMLITE_MEMORY_H
#define SEMLITE_MEMORY_H

#include <stddef.h>

/* A forward pass took this much scratch; the peak is kept (one relaxed atomic max). */
void sl_memory_note_scratch(size_t bytes);
size_t sl_memory_scratch_peak(void);


/* Resident set size now (/proc/self/statm) and its peak (getrusage's, or now when that
** lags), in bytes; 0 where unreadable. */
void sl_memory_rss(size_t *now, size_t *peak);

#endif
