/* The parsed form of a template, shared by the parser and the renderer (internal to
 * core/module). Every node keeps its byte offset in the source so errors can name the line and
 * column. */
#ifndef LP_MODULE_TEMPLATE_AST_H
#define LP_MODULE_TEMPLATE_AST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "module/template.h"

enum tpl_func { TF_SUBST, TF_AND, TF_OR, TF_NOT, TF_EQ, TF_NE, TF_LEN, TF_PRINT, TF_PRINTF };

enum tpl_arg_kind {
    TA_FIELD,  /* .Key (chained .Key.More keeps the whole text and fails when rendered) */
    TA_DOT,    /* . */
    TA_STRING, /* "..." or `...`, unescaped */
    TA_INT,
    TA_BOOL,
    TA_FUNC, /* a function name: the command's function, or a call with no arguments */
    TA_PIPE, /* ( pipeline ) */
};

struct tpl_pipe;

struct tpl_arg {
    enum tpl_arg_kind kind;
    size_t off;
    char *str; /* field name or string value (malloc'd) */
    size_t len;
    bool chained; /* field: more than one name (.A.B) */
    int64_t i;
    bool b;
    enum tpl_func fn;
    struct tpl_pipe *pipe;
};

struct tpl_cmd {
    struct tpl_arg *args;
    size_t n;
    size_t off;
};

struct tpl_pipe {
    struct tpl_cmd *cmds;
    size_t n;
    size_t off;
};

enum tpl_node_kind { TN_TEXT, TN_PRINT, TN_IF };

struct tpl_node;

struct tpl_list {
    struct tpl_node *nodes;
    size_t n;
};

struct tpl_node {
    enum tpl_node_kind kind;
    size_t off;
    const char *text; /* TN_TEXT: points into the template's copy of the source */
    size_t len;
    struct tpl_pipe *pipe; /* TN_PRINT, TN_IF */
    struct tpl_list then_list, else_list;
};

struct lp_template {
    char *name;
    char *src;
    size_t src_len;
    struct tpl_list root;
};

/* Writes "NAME:LINE:COL: message" for byte offset off of t's source. */
void lp_tpl_errorf(struct lp_template_error *err, const char *name, const char *src, size_t off,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

const char *lp_tpl_func_name(enum tpl_func fn);

#endif
