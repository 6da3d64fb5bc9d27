/*
 * util/compiler.h - compiler helpers shared by every layer.
 *
 * Owns: branch hints, inlining attributes, ARRAY_SIZE, static asserts.
 * Nothing here knows about guests, devices or the host OS.
 */
#ifndef QTEMU_UTIL_COMPILER_H
#define QTEMU_UTIL_COMPILER_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define likely(x)       __builtin_expect(!!(x), 1)
#define unlikely(x)     __builtin_expect(!!(x), 0)
#define forceinline     inline __attribute__((always_inline))
#define noinline        __attribute__((__noinline__))
#define cold_path       __attribute__((cold, __noinline__))
#define qt_noreturn     __attribute__((noreturn))
#define qt_unused       __attribute__((unused))
#define qt_printf(f, a) __attribute__((format(printf, f, a)))

#define ARRAY_SIZE(a)   (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)       ((a) < (b) ? (a) : (b))
#define MAX(a, b)       ((a) > (b) ? (a) : (b))

#endif
