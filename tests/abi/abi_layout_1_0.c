/*
 * ABI 1.0's pinned layout checked against the frozen 1.0 headers (tests/abi/v1_0), with exact
 * sizes: proves the table is the layout plugins built against 1.0 have. Values are for LP64
 * Linux (x86-64, aarch64).
 */
#include <stddef.h>
#include <stdio.h>

#include <lilypad/executor.h>
#include <lilypad/hashrate.h>
#include <lilypad/plugin.h>
#include <lilypad/storage.h>
#include <lilypad/verifier.h>

_Static_assert(LP_ABI_MAJOR == 1 && LP_ABI_MINOR == 0, "built against the frozen 1.0 headers");

#define LP_ABI_SIZE(type, size) _Static_assert(sizeof(type) == (size), "ABI 1.0: sizeof " #type)
#define LP_ABI_OFFSET(type, member, offset)                                                        \
    _Static_assert(offsetof(type, member) == (offset), "ABI 1.0: offsetof " #type "." #member)

#include "abi_table_1_0.h"

int main(void)
{
    printf("plugin ABI 1.0: the frozen headers match the pinned 1.0 table\n");
    return 0;
}
