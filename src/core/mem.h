/* core/mem.h: allocation wrappers. With caps on every buffer, a real allocation failure is a
 * broken machine: these abort with file and line instead of returning NULL. */
#ifndef AG_CORE_MEM_H
#define AG_CORE_MEM_H

#include <stddef.h>

void *ag_malloc_at(size_t n, const char *file, int line);
void *ag_calloc_at(size_t n, size_t size, const char *file, int line);
void *ag_realloc_at(void *p, size_t n, const char *file, int line);

#define ag_malloc(n)     ag_malloc_at((n), __FILE__, __LINE__)
#define ag_calloc(n, s)  ag_calloc_at((n), (s), __FILE__, __LINE__)
#define ag_realloc(p, n) ag_realloc_at((p), (n), __FILE__, __LINE__)
#define AG_NEW(type)     ((type *)ag_calloc(1, sizeof(type)))

#endif
