/* executor_noentry.so: a shared object without lp_plugin_descriptor. */
#include <lilypad/plugin.h>

LP_EXPORT int not_a_descriptor(void);
LP_EXPORT int not_a_descriptor(void)
{
    return 42;
}
