/* core/log.c: one formatted write(2) per line so lines from the loop and the writer thread do not
 * interleave. Lines start with a UTC timestamp and the level, or, when stderr is the journal's
 * stream (under systemd), with the syslog priority "<N>" only: the journal keeps its own time. */
#include "core/log.h"

#include "core/err.h"
#include "core/str.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

enum ag_log_level ag_log_threshold = AG_LOG_INFO;

static bool journal;

static const char *const names[] = {"error", "warn", "info", "debug", "trace"};

int ag_log_level_parse(const char *s, enum ag_log_level *out)
{
    for (int i = 0; s && i <= AG_LOG_TRACE; i++) {
        if (strcasecmp(s, names[i]) == 0) {
            *out = (enum ag_log_level)i;
            return 0;
        }
    }
    if (s && strcasecmp(s, "warning") == 0) {
        *out = AG_LOG_WARN;
        return 0;
    }
    return AG_EINVAL;
}

/* systemd sets JOURNAL_STREAM to "<device>:<inode>" of the stream it connected stdout/stderr to;
 * it only counts while stderr is still that stream (a child of ours with stderr redirected is
 * not writing to the journal). */
void ag_log_journal_detect(void)
{
    journal = false;
    const char *v = getenv("JOURNAL_STREAM");
    if (!v || !v[0])
        return;
    char *end;
    unsigned long long dev = strtoull(v, &end, 10);
    if (end == v || *end != ':')
        return;
    const char *p = end + 1;
    unsigned long long ino = strtoull(p, &end, 10);
    if (end == p || *end)
        return;
    struct stat st;
    if (fstat(STDERR_FILENO, &st) != 0)
        return;
    journal = (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

bool ag_log_journal(void)
{
    return journal;
}

/* AIGATE_LOG_LEVEL applies from the first line on, in every program that links core; so does the
 * journal's line format. */
__attribute__((constructor)) static void level_from_env(void)
{
    ag_log_journal_detect();
    enum ag_log_level l;
    const char *v = getenv("AIGATE_LOG_LEVEL");
    if (v && ag_log_level_parse(v, &l) == 0)
        ag_log_threshold = l;
}

const char *ag_log_level_name(enum ag_log_level l)
{
    return (l >= AG_LOG_ERROR && l <= AG_LOG_TRACE) ? names[l] : "?";
}

void ag_log_set_level(enum ag_log_level l)
{
    ag_log_threshold = l;
}

void ag_log_write(enum ag_log_level level, const char *fmt, ...)
{
    char line[4096];
    int n;
    if (journal) {
        /* syslog priorities: err, warning, info, debug, debug */
        static const int prio[] = {3, 4, 6, 7, 7};
        n = snprintf(line, sizeof(line), "<%d>", prio[level]);
    } else {
        struct timeval tv;
        struct tm tm;
        gettimeofday(&tv, NULL);
        gmtime_r(&tv.tv_sec, &tm);
        static const char *const tags[] = {"ERROR", "WARN ", "INFO ", "DEBUG", "TRACE"};
        n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (int)(tv.tv_usec / 1000), tags[level]);
    }
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

char *ag_log_mask(const char *secret, char *out, size_t cap)
{
    size_t n = secret ? strlen(secret) : 0;
    if (n == 0)
        ag_strlcpy(out, "", cap);
    else if (n < 12)
        ag_strlcpy(out, "****", cap);
    else
        snprintf(out, cap, "%.4s…%s", secret, secret + n - 2);
    return out;
}
