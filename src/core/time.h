/* core/time.h: clocks. Monotonic time for timeouts and latencies, wall time for records. */
#ifndef AG_CORE_TIME_H
#define AG_CORE_TIME_H

#include <stdint.h>
#include <time.h>

/** Monotonic microseconds. */
static inline uint64_t ag_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/** Monotonic milliseconds. */
static inline uint64_t ag_now_ms(void)
{
    return ag_now_us() / 1000u;
}

/** Unix time in milliseconds. */
static inline int64_t ag_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/** Unix time in seconds. */
static inline int64_t ag_wall_s(void)
{
    return (int64_t)time(NULL);
}

#endif
