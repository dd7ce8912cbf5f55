/* Key files: raw hex and keystore v3, written 0600 with O_EXCL, read with util/small_file. */
#include "crypto/keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lilypad/plugin.h>

#include "util/hex.h"
#include "util/log.h"
#include "util/small_file.h"

static int set_err(char *err, size_t err_len, const char *fmt, ...) LP_PRINTF(3, 4);

static int set_err(char *err, size_t err_len, const char *fmt, ...)
{
    if (err != NULL && err_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

bool lp_keyfile_is_keystore_text(const char *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = data[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
            continue;
        return c == '{';
    }
    return false;
}

int lp_key_parse_hex(const char *text, size_t len, struct lp_key *out, char *err, size_t err_len)
{
    char digits[65];
    uint8_t secret[32];
    size_t start = 0;
    int rc;

    /* One trailing newline is what editors and `echo` leave; nothing else is tolerated. */
    if (len > 0 && text[len - 1] == '\n')
        len--;
    if (len > 0 && text[len - 1] == '\r')
        len--;
    if (len >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
        start = 2;
    if (len - start != 64)
        return set_err(
            err, err_len,
            "expected 64 hex digits (32 bytes), optionally 0x-prefixed; got %zu characters",
            len - start);
    memcpy(digits, text + start, 64);
    digits[64] = '\0';
    rc = lp_hex_decode(digits, 64, secret, sizeof secret);
    explicit_bzero(digits, sizeof digits);
    if (rc != 0)
        return set_err(err, err_len, "not a hex string (only 0-9, a-f, A-F allowed)");
    rc = lp_key_from_secret(out, secret);
    explicit_bzero(secret, sizeof secret);
    if (rc != 0)
        return set_err(err, err_len,
                       "not a valid secp256k1 private key (zero or not below the group order)");
    return 0;
}

/* Creates path with mode 0600 and writes data; O_EXCL so an existing key is never clobbered by
 * accident. With overwrite, the old file is replaced atomically through a temporary file. */
static int write_private_file(const char *path, const char *data, size_t len, bool overwrite,
                              char *err, size_t err_len)
{
    char tmp[4096];
    const char *target = path;
    int fd;

    if (overwrite) {
        if (snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof tmp)
            return set_err(err, err_len, "%s: path too long", path);
        target = tmp;
    }
    fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            return set_err(err, err_len,
                           "%s: already exists; refusing to overwrite a key file (remove it first)",
                           path);
        return set_err(err, err_len, "%s: cannot create: %s", target, strerror(errno));
    }
    /* The umask can only remove bits; make sure nobody else can read even if it was odd. */
    if (fchmod(fd, 0600) != 0)
        goto fail_errno;
    for (size_t done = 0; done < len;) {
        ssize_t n = write(fd, data + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            goto fail_errno;
        done += (size_t)n;
    }
    if (fsync(fd) != 0)
        goto fail_errno;
    if (close(fd) != 0) {
        fd = -1;
        goto fail_errno;
    }
    if (overwrite && rename(tmp, path) != 0) {
        set_err(err, err_len, "%s: cannot replace: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
fail_errno:
    set_err(err, err_len, "%s: cannot write: %s", target, strerror(errno));
    if (fd >= 0)
        close(fd);
    unlink(target);
    return -1;
}

int lp_keyfile_write_hex(const char *path, const struct lp_key *key, bool overwrite, char *err,
                         size_t err_len)
{
    char text[66];
    int rc;
    lp_hex_encode(key->secret, 32, text);
    text[64] = '\n';
    text[65] = '\0';
    rc = write_private_file(path, text, 65, overwrite, err, err_len);
    explicit_bzero(text, sizeof text);
    return rc;
}

int lp_keyfile_write_keystore(const char *path, const struct lp_key *key, const char *password,
                              size_t password_len, const struct lp_keystore_params *params,
                              bool overwrite, char *err, size_t err_len)
{
    char *json = NULL;
    char kerr[LP_KEYSTORE_ERR_LEN];
    int rc;
    if (lp_keystore_encrypt(key, password, password_len, params, &json, kerr, sizeof kerr) != 0)
        return set_err(err, err_len, "%s: %s", path, kerr);
    size_t len = strlen(json);
    rc = write_private_file(path, json, len, overwrite, err, err_len);
    free(json);
    return rc;
}

int lp_keyfile_load(const char *path, const char *password, size_t password_len, struct lp_key *out,
                    bool *is_keystore, char *err, size_t err_len)
{
    char kerr[LP_KEYSTORE_ERR_LEN];
    size_t len = 0;
    int rc;
    mode_t mode = 0;
    /* A regular file of at most LP_KEYSTORE_MAX_SIZE bytes (key files are tiny), read without
     * blocking: a FIFO or a device given as a key file is refused instead of hanging us. */
    char *data =
        lp_small_file_read(path, LP_KEYSTORE_MAX_SIZE, "a key file", &len, &mode, err, err_len);
    if (data == NULL)
        return -1;
    bool keystore = lp_keyfile_is_keystore_text(data, len);
    if (is_keystore != NULL)
        *is_keystore = keystore;
    if (keystore) {
        if (password == NULL) {
            /* One that could never be read (malformed, or over the KDF cost caps) says so now,
             * rather than after the user has found its password. */
            rc = lp_keystore_check(data, len, NULL, kerr, sizeof kerr);
            if (rc != 0)
                set_err(err, err_len, "%s: %s", path, kerr);
            else {
                rc = LP_KEYFILE_NEEDS_PASSWORD;
                set_err(err, err_len, "%s: is an encrypted keystore and needs its password", path);
            }
        } else {
            rc = lp_keystore_decrypt(data, len, password, password_len, NULL, out, kerr,
                                     sizeof kerr);
            if (rc != 0)
                set_err(err, err_len, "%s: %s", path, kerr);
        }
    } else {
        /* Only the unencrypted kind is worth a warning; keystores are often shared on purpose. */
        if ((mode & 077) != 0)
            lp_warn("%s: raw key file is readable by other users (mode %03o); chmod 600 it", path,
                    (unsigned)(mode & 0777));
        rc = lp_key_parse_hex(data, len, out, kerr, sizeof kerr);
        if (rc != 0)
            set_err(err, err_len, "%s: raw hex key file: %s", path, kerr);
    }
    lp_small_file_free(data, len);
    return rc;
}
