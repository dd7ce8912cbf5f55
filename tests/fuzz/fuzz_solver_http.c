/* Solver request handling without the network: the input is "METHOD TARGET\n" followed by a
 * body. The target goes through the router (paths, IDs, query parameters) and, for routes that
 * take a protocol object, the body through the strict envelope decoder the handlers use. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "solver/route.h"
#include "wire/object.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size < 4200 ? size : 4200);
    if (!nl)
        return 0;
    size_t head = (size_t)(nl - data);
    char *line = malloc(head + 1);
    if (!line)
        return 0;
    memcpy(line, data, head);
    line[head] = '\0';
    char *sp = strchr(line, ' ');
    if (sp) {
        *sp = '\0';
        struct lp_route r;
        if (lp_route_parse(line, sp + 1, &r) == 0 && r.id != LP_ROUTE_NONE &&
            !lp_route_takes_file(r.id) && !lp_route_public(r.id)) {
            const uint8_t *body = nl + 1;
            size_t len = size - head - 1;
            struct lp_wire_object obj;
            struct lp_envelope env;
            struct lp_wire_error err;
            if (len <= LP_WIRE_MAX_SIZE && lp_wire_open(body, len, &obj, &env, &err) == 0)
                lp_wire_object_free(&obj);
        }
    }
    free(line);
    return 0;
}
