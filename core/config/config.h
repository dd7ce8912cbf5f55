/*
 * Configuration files (libconfig) and their validation against declarative schemas.
 *
 * The core and every plugin describe their keys with struct lp_cfg_field (api/lilypad/plugin.h).
 * lp_config_apply_schema() checks one group of a file against one schema: types, required keys,
 * unknown keys (rejected with the list of valid ones), and writes the values, or the schema's
 * defaults, into a freshly allocated struct. Every error is one line that starts with
 * "FILE:LINE: group.key: ".
 */
#ifndef LP_CONFIG_CONFIG_H
#define LP_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <lilypad/plugin.h>

struct lp_config;        /* a parsed file */
struct lp_config_values; /* a struct filled from a schema, and the memory it points to */

/* Parses a file. On a syntax error returns -1 with "FILE:LINE: message" in err. */
int lp_config_load_file(const char *path, struct lp_config **out, char *err, size_t errlen);
/* Parses text, naming it `name` in messages (tests, built-in defaults). */
int lp_config_load_string(const char *text, const char *name, struct lp_config **out, char *err,
                          size_t errlen);
void lp_config_free(struct lp_config *cfg);

/* Fills cfg from `from`: every setting cfg leaves out is copied in (groups are merged member
 * by member), and the settings at the dot-separated paths in `owned` (NULL-terminated, may be
 * NULL) are replaced by from's. What cfg sets otherwise stays, with its file and line. -1 with
 * one line in err when a setting cannot be merged (a group in `from` that cfg has as a
 * value). */
int lp_config_merge(struct lp_config *cfg, const struct lp_config *from, const char *const *owned,
                    char *err, size_t errlen);

const char *lp_config_file(const struct lp_config *cfg);
/* The directory holding the file, for paths written relative to it. */
const char *lp_config_dir(const struct lp_config *cfg);

/* A setting by dot-separated path ("storage.ipfs"), or NULL. The node type is opaque here and
 * is what plugins see through the host table. */
const struct lp_cfg_node *lp_config_lookup(const struct lp_config *cfg, const char *path);
/* The source line of a node, 0 when unknown. */
int lp_config_node_line(const struct lp_cfg_node *node);
/* The file a node was read from (an @include'd one, or the configuration file itself). */
const char *lp_config_node_file(const struct lp_config *cfg, const struct lp_cfg_node *node);
/* Names of the direct members of a group node (NULL-terminated array, free with free()). */
const char **lp_config_group_keys(const struct lp_cfg_node *group, size_t *count);
bool lp_config_node_is_group(const struct lp_cfg_node *node);
/* The elements of a list or array node: their count (0 for any other node) and each one. */
size_t lp_config_list_length(const struct lp_cfg_node *node);
const struct lp_cfg_node *lp_config_list_item(const struct lp_cfg_node *node, size_t index);
/* A string node's text, or NULL for any other node. */
const char *lp_config_node_string(const struct lp_cfg_node *node);

/*
 * Validates the group at `group_path` (it may be absent: then every value is its default)
 * against `schema`, writes the values into a zeroed struct of `struct_size` bytes, and returns
 * it in *out. `extra_keys` (NULL-terminated, may be NULL) are further names that are valid in
 * the group but not part of the schema (the plugin subgroups of a concern section); they are
 * listed among the valid keys and otherwise skipped. `cfg` may be NULL: defaults only.
 */
int lp_config_apply_schema(const struct lp_config *cfg, const char *group_path,
                           const struct lp_cfg_field *schema, size_t struct_size,
                           const char *const *extra_keys, struct lp_config_values **out, char *err,
                           size_t errlen);
const void *lp_config_values_data(const struct lp_config_values *values);
void lp_config_values_free(struct lp_config_values *values);

/* Checks that a schema a plugin declares is well-formed (known types, offsets inside its
 * struct, parseable defaults). Returns -1 with the reason in err. */
int lp_config_check_schema(const struct lp_cfg_field *schema, size_t struct_size, char *err,
                           size_t errlen);

/* Prints `key = value;` lines for every schema key, secrets masked, indented by `indent`. */
void lp_config_values_dump(FILE *out, const struct lp_cfg_field *schema, const void *data,
                           int indent);

/* One-line description of a field's type for help output: "string", "size", ... */
const char *lp_cfg_type_name(uint32_t type);

#endif
