/* The solver's HTTP API on libmicrohttpd (routes, bodies and errors: README.md here).
 *
 * Threads: a small pool of worker threads, each serving many connections with epoll, instead
 * of a thread per connection. No handler ever waits: an event long-poll with nothing to return
 * is suspended (it holds no thread) and resumed by one waker thread when events arrive or its
 * time is up, and request bodies are streamed as they come. So idle connections and long-polls
 * cost a file descriptor each and never the thread /healthz needs.
 *
 * Limits (solver.* keys): connections overall and per client IP, an idle timeout within a
 * request, a header timeout from connect (or the last answer) to a whole request header, and
 * concurrent long-polls per address (429 beyond). A signed request is checked from its headers
 * alone (Host, signature, clock, nonce, rate limit, upload quota) before its body is read; the
 * body is then streamed, to a temp file in the files folder for uploads or to bounded memory
 * for protocol objects, hashed on the way, and refused when its hash is not the signed one. */
#ifndef LP_SOLVER_HTTP_H
#define LP_SOLVER_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "solver/solver.h"

struct lp_solver_http;

/* listen: "HOST:PORT" with an IPv4 address or "localhost"; PORT 0 picks a free port. The rest
 * comes from the solver's configuration (lp_solver_get_config). */
int lp_solver_http_start(struct lp_solver *s, const char *listen, struct lp_solver_http **out,
                         char *err, size_t errlen);
uint16_t lp_solver_http_port(const struct lp_solver_http *h);
void lp_solver_http_stop(struct lp_solver_http *h);

/* Checks a listen address as lp_solver_http_start takes it (port 0..65535, 0 = any free one).
 * A wildcard address (0.0.0.0) needs hosts: the names clients sign their requests for. 0, or
 * -1 with the reason in why. */
int lp_solver_check_listen(const char *listen, size_t n_hosts, char *why, size_t cap);
/* Checks one solver.hosts entry: "HOST" or "HOST:PORT". */
int lp_solver_check_host(const char *host, char *why, size_t cap);

#endif
