/* The docker executor's decoders of engine replies (plugins/executor/docker/docker_replies.c):
 * error bodies, /version, /info, /networks, a container's inspect, the NDJSON progress of a
 * pull or load (fed in pieces), container lists, image digests and RFC 3339 times. The first
 * byte picks the decoder. Beyond "never crash", checks that the progress parser finds the same
 * error whether the stream came whole or in pieces, and that messages stay one line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "docker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one_line(const char *s)
{
    if (strchr(s, '\n') != NULL || strchr(s, '\r') != NULL)
        abort();
}

static void on_container(void *arg, const char *id, const char *name)
{
    size_t *n = arg;
    if (id == NULL || name == NULL)
        abort();
    (*n)++;
}

static void progress(const char *text, size_t len)
{
    struct dk_progress whole = {0}, cut = {0};
    dk_progress_feed(&whole, text, len);
    dk_progress_finish(&whole);
    for (size_t at = 0; at < len; at += 7)
        dk_progress_feed(&cut, text + at, len - at < 7 ? len - at : 7);
    dk_progress_finish(&cut);
    if (whole.failed != cut.failed || strcmp(whole.error, cut.error) != 0 ||
        strcmp(whole.loaded, cut.loaded) != 0)
        abort();
    one_line(whole.error);
    dk_progress_free(&whole);
    dk_progress_free(&cut);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *text = malloc(size);
    if (text == NULL)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    size_t len = size - 1;
    char out[300];
    bool flag;
    size_t count = 0;
    switch (data[0] % 9) {
    case 0:
        if (dk_parse_error_message(text, len, out, sizeof out) == 0)
            one_line(out);
        break;
    case 1: {
        char version[48];
        if (dk_parse_version(text, len, &flag, version, sizeof version) == 0 &&
            strchr(version, '+') != NULL)
            abort();
        break;
    }
    case 2: {
        struct dk_info info;
        dk_parse_info(text, len, &info);
        dk_parse_has_default_network(text, len, &flag);
        break;
    }
    case 3: {
        struct dk_state st;
        if (dk_parse_inspect(text, len, &st) == 0) {
            one_line(st.error);
            if (memchr(st.status, '\0', sizeof st.status) == NULL)
                abort();
        }
        break;
    }
    case 4:
        progress(text, len);
        break;
    case 5:
        dk_parse_container_list(text, len, on_container, &count);
        break;
    case 6:
        dk_parse_image_has_digest(text, len, "sha256:0123", &flag);
        break;
    case 7:
        dk_parse_time(text);
        break;
    default:
        dk_parse_api_version(text);
        break;
    }
    free(text);
    return 0;
}
