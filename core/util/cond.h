/* Condition variables that time out on CLOCK_MONOTONIC: a wait of "n ms" stays n ms when the
 * wall clock is set back or forward (NTP, a VM resuming), which CLOCK_REALTIME waits do not. */
#ifndef LP_UTIL_COND_H
#define LP_UTIL_COND_H

#include <pthread.h>
#include <stdint.h>

/* pthread_cond_init with the monotonic clock; 0 or an errno value. */
int lp_cond_init(pthread_cond_t *cond);
/* Waits on cond (mutex held) until signalled or `ns` from now; 0 or ETIMEDOUT. */
int lp_cond_wait_ns(pthread_cond_t *cond, pthread_mutex_t *mutex, uint64_t ns);

#endif
