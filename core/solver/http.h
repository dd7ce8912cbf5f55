/* The solver's HTTP API on libmicrohttpd (routes, bodies and errors: README.md here).
 * One thread per connection, so an event long-poll blocks only its own connection; the
 * number of connections is capped. Listens on 127.0.0.1 unless told otherwise. */
#ifndef LP_SOLVER_HTTP_H
#define LP_SOLVER_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "solver/solver.h"

struct lp_solver_http;

/* listen: "HOST:PORT" with an IPv4 address or "localhost"; PORT 0 picks a free port. */
int lp_solver_http_start(struct lp_solver *s, const char *listen, struct lp_solver_http **out,
                         char *err, size_t errlen);
uint16_t lp_solver_http_port(const struct lp_solver_http *h);
void lp_solver_http_stop(struct lp_solver_http *h);

#endif
