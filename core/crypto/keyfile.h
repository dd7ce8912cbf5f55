/* Key files on disk: raw hex (64 digits, optional 0x, trailing newline ok) written with mode
 * 0600, and keystore v3 files; `load` tells them apart by content. Writers never overwrite an
 * existing file unless asked (O_CREAT|O_EXCL). Errors are one line in err, naming the file. */
#ifndef LP_CRYPTO_KEYFILE_H
#define LP_CRYPTO_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "crypto/key.h"
#include "crypto/keystore.h"

#define LP_KEYFILE_NEEDS_PASSWORD (-2)

/* Parses a raw hex secret as it appears in a key file or on a command line: optional 0x, 64
 * hex digits, optional trailing "\n" or "\r\n". 0 ok, -1 with a message. */
int lp_key_parse_hex(const char *text, size_t len, struct lp_key *out, char *err, size_t err_len);

int lp_keyfile_write_hex(const char *path, const struct lp_key *key, bool overwrite, char *err,
                         size_t err_len);
int lp_keyfile_write_keystore(const char *path, const struct lp_key *key, const char *password,
                              size_t password_len, const struct lp_keystore_params *params,
                              bool overwrite, char *err, size_t err_len);

/* Reads a raw hex or keystore v3 file. A keystore needs password (NULL: returns
 * LP_KEYFILE_NEEDS_PASSWORD). *is_keystore (may be NULL) tells which kind it was.
 * 0 ok, -1 error, LP_KEYFILE_NEEDS_PASSWORD. */
int lp_keyfile_load(const char *path, const char *password, size_t password_len, struct lp_key *out,
                    bool *is_keystore, char *err, size_t err_len);

/* Whether a file's content looks like JSON (first non-blank byte is '{'). */
bool lp_keyfile_is_keystore_text(const char *data, size_t len);

#endif
