/* core/blocks.h: a per-thread cache of heap blocks. A request with a large body (a 200 KB
 * or 1 MB conversation) needs several blocks of about its size for a few milliseconds: the body,
 * read buffers, the arena chunks its JSON documents and the upstream body live in. Handed back
 * to malloc, blocks of that size are returned to the kernel (munmap, or a trim of the heap's top)
 * and faulted in page by page on the next request; once small requests have fragmented the heap
 * that happens on every large request. Blocks from AG_BLOCK_MIN to AG_BLOCK_MAX bytes are kept
 * here instead, in size classes a quarter of a power of two apart, up to AG_BLOCK_CACHE_MAX
 * bytes per thread; larger blocks, and blocks past that budget, go straight to malloc/free.
 * Small requests churn through a dozen arena chunks each (1–8 KiB, above what malloc's own
 * per-thread cache holds): blocks from AG_BLOCK_SMALL_MIN up are kept as well, in the same
 * classes, AG_BLOCK_SMALL_KEEP bytes per class below AG_BLOCK_MIN, so a request's chunks are
 * the previous request's instead of a trip through malloc's bins and back.
 *
 * A block is ordinary heap memory: whoever ends up holding one may free() it instead of putting
 * it back. Each thread has its own cache (no locks); a thread's cached blocks are freed when it
 * exits. */
#ifndef AG_CORE_BLOCKS_H
#define AG_CORE_BLOCKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** The smallest block the cache keeps (below: plain malloc, whose own per-thread cache is fast). */
#define AG_BLOCK_SMALL_MIN 1024u

/** Blocks below this size are small: each of their classes keeps AG_BLOCK_SMALL_KEEP bytes at most.
 */
#define AG_BLOCK_MIN        (64u * 1024)
#define AG_BLOCK_SMALL_KEEP (512u * 1024)

/** The largest block the cache keeps (a size class; larger requests are plain malloc). */
#define AG_BLOCK_MAX (16u * 1024 * 1024)

/** Bytes of blocks one thread keeps at most: room for twenty 1 MB conversations in flight (each
 * about 4.5 MB of body, its copy, the documents and the upstream body), so none of them faults
 * fresh pages in. Given back after AG_BLOCK_IDLE_TICKS quiet ticks (ag_block_idle_tick). */
#define AG_BLOCK_CACHE_MAX (128u * 1024 * 1024)

/** Ticks without activity after which ag_block_idle_tick gives the thread's blocks back: five
 * minutes. A client sends its next large turn seconds to a minute after the last; given back
 * sooner, every such turn would fault its megabytes in again (about a millisecond per MB). */
#define AG_BLOCK_IDLE_TICKS 300

/**
 * Returns a heap block of at least n bytes and stores its usable size (n rounded up to its size
 * class, or n itself outside the cached range) in *size. Reuses a cached block of that class
 * when there is one. Never NULL (allocation failure aborts, as ag_malloc). The caller owns the
 * block: ag_block_put or free() it.
 */
void *ag_block_get(size_t n, size_t *size);

/**
 * Gives a heap block of `size` usable bytes (at least; as ag_block_get reported, or a malloc'd
 * block's requested size) back: kept in this thread's cache when it is in the cached range and
 * the budget allows, else freed. NULL is a no-op.
 */
void ag_block_put(void *p, size_t size);

/**
 * The thread's housekeeping tick (about once a second): activity is any counter of the thread's
 * work (requests served). When it has not moved for AG_BLOCK_IDLE_TICKS ticks, the cached blocks
 * are freed, so a burst of large requests does not keep its memory once the gateway is quiet.
 * Returns true when it freed them.
 */
bool ag_block_idle_tick(uint64_t activity);

/** Frees every block cached by the calling thread. */
void ag_block_trim(void);

/** Bytes of blocks the calling thread holds in its cache. */
size_t ag_block_cached(void);

#endif
