/*
 * pattern.h: the byte pattern of every generated body in the benchmark.
 *
 * Byte i of a body is pattern_byte(i % PATTERN_PERIOD).  The responder
 * sends it (downloads), the load generator sends it (uploads) and checks
 * what arrives against it with memcmp, which costs next to nothing next
 * to the transfer.  Static files are written with the same pattern, so
 * every arm's download can be checked the same way.
 */
#ifndef BENCH_PATTERN_H
#define BENCH_PATTERN_H

#include <stddef.h>
#include <string.h>

#define PATTERN_PERIOD 4096

static inline unsigned char pattern_byte(size_t i)
{
    i %= PATTERN_PERIOD;
    return (unsigned char)((i * 131u + (i >> 8) * 29u + 7u) & 0xffu);
}

/* Fill buf with the pattern as it is at body offset `offset`. */
static inline void pattern_fill(unsigned char *buf, size_t len, size_t offset)
{
    size_t i;

    for (i = 0; i < len; i++) {
        buf[i] = pattern_byte(offset + i);
    }
}

/* Whether data[0..len) is what the pattern has at body offset `offset`.
 * ref must hold 2 * PATTERN_PERIOD bytes filled from offset 0. */
static inline int pattern_check(const unsigned char *ref,
                                const unsigned char *data, size_t len,
                                size_t offset)
{
    while (len) {
        size_t at = offset % PATTERN_PERIOD;
        size_t n = len < PATTERN_PERIOD ? len : PATTERN_PERIOD;

        if (memcmp(data, ref + at, n) != 0) {
            return 0;
        }
        data += n;
        len -= n;
        offset += n;
    }
    return 1;
}

#endif
