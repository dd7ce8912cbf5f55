/* Test helpers shared by the CID and local-storage tests: generated inputs (the content specs of
 * tests/vectors/cid/ TSV files), directory trees built from a tree spec, temp dirs, reading
 * vectors. */
#ifndef LP_TEST_CID_UTIL_H
#define LP_TEST_CID_UTIL_H

#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CID_VECTORS LP_SOURCE_DIR "/tests/vectors/cid"

/* Generates the bytes a content spec names; returns a malloc'd buffer (never NULL). */
static inline uint8_t *tc_content(const char *spec, size_t *len)
{
    uint8_t *buf = NULL;
    size_t n = 0;
    if (strcmp(spec, "empty") == 0) {
        buf = malloc(1);
    } else if (strncmp(spec, "text:", 5) == 0) {
        const char *s = spec + 5;
        buf = malloc(strlen(s) + 1);
        for (; *s; s++) {
            if (s[0] == '\\' && s[1] == 'n') {
                buf[n++] = '\n';
                s++;
            } else {
                buf[n++] = (uint8_t)*s;
            }
        }
    } else if (strncmp(spec, "hex:", 4) == 0) {
        const char *s = spec + 4;
        buf = malloc(strlen(s) / 2 + 1);
        for (; s[0] && s[1]; s += 2) {
            unsigned v;
            sscanf(s, "%2x", &v);
            buf[n++] = (uint8_t)v;
        }
    } else if (strncmp(spec, "zeros:", 6) == 0) {
        n = strtoull(spec + 6, NULL, 10);
        buf = calloc(1, n + 1);
    } else if (strncmp(spec, "seq:", 4) == 0) {
        n = strtoull(spec + 4, NULL, 10);
        buf = malloc(n + 1);
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)(i % 251);
    } else {
        fprintf(stderr, "bad content spec %s\n", spec);
        abort();
    }
    *len = n;
    return buf;
}

static inline void tc_write_file(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        abort();
    }
}

/* Builds the entries of a tree spec ("d:PATH;f:PATH=CONTENT;...") under root. */
static inline void tc_build_tree(const char *root, const char *spec)
{
    char *copy = strdup(spec), *save = NULL;
    mkdir(root, 0755);
    for (char *e = strtok_r(copy, ";", &save); e; e = strtok_r(NULL, ";", &save)) {
        char path[4096];
        if (e[0] == 'd') {
            snprintf(path, sizeof path, "%s/%s", root, e + 2);
            mkdir(path, 0755);
        } else {
            char *eq = strchr(e, '=');
            *eq = '\0';
            snprintf(path, sizeof path, "%s/%s", root, e + 2);
            size_t len;
            uint8_t *data = tc_content(eq + 1, &len);
            tc_write_file(path, data, len);
            free(data);
        }
    }
    free(copy);
}

static inline int tc_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    chmod(path, 0700);
    return remove(path);
}

static inline void tc_rm_tree(const char *path)
{
    nftw(path, tc_rm_one, 32, FTW_DEPTH | FTW_PHYS);
}

/* Splits a vector line in place on tabs; returns the number of fields (comments: 0). */
static inline int tc_split(char *line, char **fields, int max)
{
    line[strcspn(line, "\r\n")] = '\0';
    if (line[0] == '#' || line[0] == '\0')
        return 0;
    int n = 0;
    fields[n++] = line;
    for (char *p = line; *p && n < max; p++) {
        if (*p == '\t') {
            *p = '\0';
            fields[n++] = p + 1;
        }
    }
    return n;
}

#endif
