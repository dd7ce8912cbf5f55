/* The plugin ABI 1.0 headers as released, frozen for the compatibility tests; never edit. */
#ifndef LILYPAD_VERSION_H
#define LILYPAD_VERSION_H

/* Plugin ABI: major must match the core's exactly; a plugin's minor may be older, never newer. */
#define LP_ABI_MAJOR 1
#define LP_ABI_MINOR 0

/* The lilypad release these headers come from. */
#define LP_VERSION_MAJOR  0
#define LP_VERSION_MINOR  1
#define LP_VERSION_PATCH  0
#define LP_VERSION_STRING "0.1.0"

#endif /* LILYPAD_VERSION_H */
