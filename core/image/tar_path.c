#include "image/tar_path.h"

#include <stdio.h>
#include <string.h>

int lp_image_clean_path(const char *name, char *out, size_t out_len, char *err, size_t errlen)
{
    if (name == NULL || out_len == 0) {
        snprintf(err, errlen, "entry without a name");
        return -1;
    }
    if (name[0] == '/') {
        snprintf(err, errlen, "absolute entry name \"%.200s\" refused", name);
        return -1;
    }
    size_t n = 0;
    const char *p = name;
    while (*p) {
        const char *end = strchr(p, '/');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        if (len == 2 && p[0] == '.' && p[1] == '.') {
            snprintf(err, errlen, "entry name \"%.200s\" climbs out with \"..\"", name);
            return -1;
        }
        if (len > 0 && !(len == 1 && p[0] == '.')) {
            if (n + (n > 0) + len + 1 > out_len) {
                snprintf(err, errlen, "entry name \"%.200s...\" is too long", name);
                return -1;
            }
            if (n > 0)
                out[n++] = '/';
            memcpy(out + n, p, len);
            n += len;
        }
        p += len;
        while (*p == '/')
            p++;
    }
    out[n] = '\0';
    return n == 0 ? 1 : 0;
}

void lp_image_split_path(char *path, const char **dir, const char **base)
{
    char *slash = strrchr(path, '/');
    if (slash == NULL) {
        *dir = "";
        *base = path;
    } else {
        *slash = '\0';
        *dir = path;
        *base = slash + 1;
    }
}
