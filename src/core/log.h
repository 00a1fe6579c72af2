/* core/log.h: leveled logging to stderr, one line per call. The level comes from
 * AIGATE_LOG_LEVEL (error, warn, info, debug, trace) or from the configuration. Callers never log
 * secrets: tokens and keys go through ag_log_mask() first. */
#ifndef AG_CORE_LOG_H
#define AG_CORE_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum ag_log_level {
    AG_LOG_ERROR = 0,
    AG_LOG_WARN = 1,
    AG_LOG_INFO = 2,
    AG_LOG_DEBUG = 3,
    AG_LOG_TRACE = 4,
};

extern enum ag_log_level ag_log_threshold;

/** Parses "error".."trace" (case-insensitive); returns 0 or AG_EINVAL. */
int ag_log_level_parse(const char *s, enum ag_log_level *out);

/** Name of a level, lower case. */
const char *ag_log_level_name(enum ag_log_level l);

/** Sets the threshold. */
void ag_log_set_level(enum ag_log_level l);

/**
 * Re-reads $JOURNAL_STREAM: when it names the device and inode of the current stderr (systemd
 * connected it to the journal), later lines are written as "<N>message" (N the syslog priority:
 * 3 error, 4 warn, 6 info, 7 debug and trace) without a timestamp; otherwise as
 * "<UTC time> <LEVEL> message". Runs once before main(); call it again after replacing stderr.
 */
void ag_log_journal_detect(void);

/** True while lines are written in the journal's format (see ag_log_journal_detect). */
bool ag_log_journal(void);

/** Writes one line (a newline is added) if level passes the threshold. */
void ag_log_write(enum ag_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define ag_log(level, ...)                                                                         \
    do {                                                                                           \
        if ((level) <= ag_log_threshold)                                                           \
            ag_log_write((level), __VA_ARGS__);                                                    \
    } while (0)
#define ag_log_error(...) ag_log(AG_LOG_ERROR, __VA_ARGS__)
#define ag_log_warn(...)  ag_log(AG_LOG_WARN, __VA_ARGS__)
#define ag_log_info(...)  ag_log(AG_LOG_INFO, __VA_ARGS__)
#define ag_log_debug(...) ag_log(AG_LOG_DEBUG, __VA_ARGS__)

/**
 * Writes a masked form of a secret into out (cap bytes): the first 4 and last 2 characters around
 * "…" for long values, "****" for short ones, "" for NULL/empty. Returns out.
 */
char *ag_log_mask(const char *secret, char *out, size_t cap);

#endif
