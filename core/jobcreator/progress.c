#include "jobcreator/progress.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

uint64_t lp_progress_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void lp_progress_init(struct lp_progress *p, FILE *out, bool tty, unsigned heartbeat_s)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->tty = tty;
    p->heartbeat_s = heartbeat_s ? heartbeat_s : 10;
    p->start_ms = lp_progress_now_ms();
    p->last_line_ms = p->start_ms;
}

double lp_progress_elapsed_s(const struct lp_progress *p)
{
    return (double)(lp_progress_now_ms() - p->start_ms) / 1000.0;
}

/* Plain line: wall-clock time (what a log reader correlates with other logs) and elapsed. */
static void plain_line(struct lp_progress *p, const char *prefix, const char *text)
{
    char stamp[32] = "";
    time_t now = time(NULL);
    struct tm tm;
    if (localtime_r(&now, &tm))
        strftime(stamp, sizeof stamp, "%H:%M:%S", &tm);
    fprintf(p->out, "%s [%7.1fs] %s%s\n", stamp, lp_progress_elapsed_s(p), prefix, text);
    fflush(p->out);
    p->last_line_ms = lp_progress_now_ms();
}

static void tty_redraw(struct lp_progress *p)
{
    fprintf(p->out, "\r\033[K[%7.1fs] %s", lp_progress_elapsed_s(p), p->current);
    fflush(p->out);
    p->line_open = true;
}

void lp_progress_state(struct lp_progress *p, const char *fmt, ...)
{
    if (p->quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    char text[sizeof p->current];
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (p->tty) {
        /* The previous state's line stays, with its final elapsed time. */
        if (p->line_open)
            fputc('\n', p->out);
        memcpy(p->current, text, sizeof text);
        tty_redraw(p);
    } else {
        memcpy(p->current, text, sizeof text);
        plain_line(p, "", text);
    }
}

void lp_progress_note(struct lp_progress *p, const char *fmt, ...)
{
    if (p->quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    char text[512];
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (p->tty) {
        fprintf(p->out, "%s[%7.1fs] %s\n", p->line_open ? "\r\033[K" : "", lp_progress_elapsed_s(p),
                text);
        p->line_open = false;
        if (p->current[0])
            tty_redraw(p);
        else
            fflush(p->out);
    } else {
        plain_line(p, "", text);
    }
}

void lp_progress_tick(struct lp_progress *p)
{
    if (p->quiet)
        return;
    if (p->tty) {
        if (p->current[0])
            tty_redraw(p);
        return;
    }
    if (lp_progress_now_ms() - p->last_line_ms >= (uint64_t)p->heartbeat_s * 1000u)
        plain_line(p, "still waiting: ", p->current[0] ? p->current : "...");
}

void lp_progress_finish(struct lp_progress *p)
{
    if (p->tty && p->line_open && !p->quiet) {
        tty_redraw(p);
        fputc('\n', p->out);
        fflush(p->out);
    }
    p->line_open = false;
}
