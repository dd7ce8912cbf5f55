/* Progress of a job as the job creator sees it, on one stream.
 *
 * On a terminal (isatty) it is one live line, redrawn in place with the elapsed time
 * ("\r" + erase line), so a long wait visibly moves; every state change leaves its line behind
 * so the history stays on screen. Anywhere else (logs, pipes, CI) it is plain lines, each
 * stamped with the wall clock and the elapsed time, and a heartbeat line every heartbeat_s while
 * nothing changes, so a reader can always tell a slow job from a hung client. */
#ifndef LP_JOBCREATOR_PROGRESS_H
#define LP_JOBCREATOR_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct lp_progress {
    FILE *out;
    bool tty;
    bool quiet;           /* print nothing (the library's callers that only want the result) */
    unsigned heartbeat_s; /* non-TTY: a "still ..." line after this many quiet seconds */
    uint64_t start_ms;    /* monotonic */
    uint64_t last_line_ms;
    char current[160]; /* the state being waited on */
    bool line_open;    /* TTY: the live line is drawn and not yet ended */
};

/* out is usually stderr; tty says how to draw (the caller decides, usually isatty). */
void lp_progress_init(struct lp_progress *p, FILE *out, bool tty, unsigned heartbeat_s);
/* A new state: "💌 Deal agreed. Running job..." style text, kept as the current line. */
void lp_progress_state(struct lp_progress *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A one-off note (download finished, key created) that does not replace the state. */
void lp_progress_note(struct lp_progress *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Called whenever the caller wakes up without news: redraws the TTY line with the new elapsed
 * time, or prints a heartbeat line when heartbeat_s have passed since the last line. */
void lp_progress_tick(struct lp_progress *p);
/* Ends the live line (TTY) so what follows starts on a fresh line. */
void lp_progress_finish(struct lp_progress *p);
double lp_progress_elapsed_s(const struct lp_progress *p);

uint64_t lp_progress_now_ms(void); /* CLOCK_MONOTONIC */

#endif
