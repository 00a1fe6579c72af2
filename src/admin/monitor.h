/* admin/monitor.h: the request monitor. Each finished AI request (struct ag_relay_record) gets an
 * id, is kept in a ring of the last N in memory, and is queued to the writer thread as one job
 * (request_log row + token-statistics increment, so the monitor and the statistics agree), with
 * bodies captured only when enabled, capped and redacted. A listener (the live event stream) sees
 * every entry. Loop thread only; never waits on disk (a full writer queue drops and counts). */
#ifndef AG_ADMIN_MONITOR_H
#define AG_ADMIN_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/request_log.h"

struct ag_monitor;
struct ag_relay_record;
struct ag_writer;

/** One request in memory; strings owned by the entry (bodies are not kept in memory). */
struct ag_monitor_entry {
    struct ag_request_record rec; /* rec.id is the entry's id */
    const char *request_id;       /* x-request-id */
    const char *error_message;
    char *_strings;
};

typedef void (*ag_monitor_listener)(const struct ag_monitor_entry *e, void *ud);

/** Creates a monitor keeping capacity entries; ids continue after first_id - 1. */
struct ag_monitor *ag_monitor_new(struct ag_writer *writer, size_t capacity, int64_t first_id);

/** Body capture: off, or on with at most cap bytes per body (after redaction). */
void ag_monitor_set_capture(struct ag_monitor *m, bool capture, size_t cap);

/** Sets the one listener (NULL removes it). */
void ag_monitor_set_listener(struct ag_monitor *m, ag_monitor_listener cb, void *ud);

/** Records one finished request; returns its id. */
int64_t ag_monitor_record(struct ag_monitor *m, const struct ag_relay_record *rec);

/** Entries held, and the i-th newest (0 = newest); NULL past the end. */
size_t ag_monitor_len(const struct ag_monitor *m);
const struct ag_monitor_entry *ag_monitor_at(const struct ag_monitor *m, size_t i);

/** The entry with this id if still in memory, else NULL. */
const struct ag_monitor_entry *ag_monitor_find(const struct ag_monitor *m, int64_t id);

/** Records seen since start, and records the writer refused (queue full or closed). */
uint64_t ag_monitor_total(const struct ag_monitor *m);
uint64_t ag_monitor_not_queued(const struct ag_monitor *m);

/** Frees the monitor. NULL is a no-op. */
void ag_monitor_free(struct ag_monitor *m);

#endif
