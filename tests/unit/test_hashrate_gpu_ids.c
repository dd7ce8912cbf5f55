/* The GPU plugins' identity texts without a GPU (plugins/hashrate/common/gpu_ids.h): a PCI
 * address as Linux sysfs writes it from every form the runtimes and tools print, nvidia-smi's
 * UUID form from cudaDeviceProp.uuid's bytes, and the HIP UUID text; malformed input gives "". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../plugins/hashrate/common/gpu_ids.h"

static void pci_ok(const char *in, const char *want)
{
    char out[32];
    memset(out, 'x', sizeof out);
    if (lp_gpu_pci_bus_id_normalise(in, out, sizeof out) != 0)
        fail_msg("\"%s\" refused", in);
    assert_string_equal(out, want);
}

static void pci_bad(const char *in)
{
    char out[32];
    memset(out, 'x', sizeof out);
    if (lp_gpu_pci_bus_id_normalise(in, out, sizeof out) == 0)
        fail_msg("\"%s\" accepted as \"%s\"", in, out);
    assert_string_equal(out, "");
}

static void test_pci_bus_id(void **state)
{
    (void)state;
    pci_ok("0000:3B:00.0", "0000:3b:00.0");     /* cudaDeviceGetPCIBusId */
    pci_ok("00000000:3B:00.0", "0000:3b:00.0"); /* nvidia-smi --query-gpu=pci.bus_id */
    pci_ok("0000:c1:00.0", "0000:c1:00.0");     /* hipDeviceGetPCIBusId */
    pci_ok("3b:00.0", "0000:3b:00.0");          /* no domain */
    pci_ok("0001:0A:1F.7", "0001:0a:1f.7");     /* the largest device and function */
    pci_ok("10000:e1:00.1", "10000:e1:00.1");   /* a VMD domain is wider than 4 digits */
    pci_ok("0:3:0.0", "0000:03:00.0");

    pci_bad("");
    pci_bad("0000:3b:00");    /* no function */
    pci_bad("0000:3b:20.0");  /* device over 0x1f */
    pci_bad("0000:3b:00.8");  /* function over 7 */
    pci_bad("0000:13b:00.0"); /* bus over two digits */
    pci_bad("0000:3b:00.0 "); /* trailing text */
    pci_bad("0000:3b:00.0\n");
    pci_bad("123456789:3b:00.0"); /* domain over 8 digits */
    pci_bad("0000-3b-00.0");
    pci_bad("GPU-0000:3b:00.0");
    pci_bad(NULL);

    char small[12]; /* one short of "0000:3b:00.0" */
    assert_int_equal(lp_gpu_pci_bus_id_normalise("0000:3b:00.0", small, sizeof small), -1);
    assert_string_equal(small, "");
}

static void test_uuid_nvidia(void **state)
{
    (void)state;
    /* nvidia-smi -L prints GPU-5b2c9d2e-1f0a-4c3b-8d7e-60f1a2b3c4d5 for these bytes */
    const unsigned char bytes[16] = {0x5b, 0x2c, 0x9d, 0x2e, 0x1f, 0x0a, 0x4c, 0x3b,
                                     0x8d, 0x7e, 0x60, 0xf1, 0xa2, 0xb3, 0xc4, 0xd5};
    char out[48];
    assert_int_equal(lp_gpu_uuid_nvidia(bytes, out, sizeof out), 0);
    assert_string_equal(out, "GPU-5b2c9d2e-1f0a-4c3b-8d7e-60f1a2b3c4d5");
    assert_int_equal(strlen(out), 40);

    const unsigned char ff[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(lp_gpu_uuid_nvidia(ff, out, sizeof out), 0);
    assert_string_equal(out, "GPU-ffffffff-ffff-ffff-ffff-ffffffffffff");

    const unsigned char zero[16] = {0};
    memset(out, 'x', sizeof out);
    assert_int_equal(lp_gpu_uuid_nvidia(zero, out, sizeof out), -1);
    assert_string_equal(out, "");

    char small[40]; /* one short */
    assert_int_equal(lp_gpu_uuid_nvidia(bytes, small, sizeof small), -1);
    assert_string_equal(small, "");
}

static void test_uuid_hip(void **state)
{
    (void)state;
    char out[48];
    /* rocminfo: "Uuid: GPU-c4c35f0b5ef7d2e5"; hipDeviceGetUuid: the 16 characters after GPU- */
    const char text[16] = {'c', '4', 'c', '3', '5', 'f', '0', 'b',
                           '5', 'e', 'f', '7', 'd', '2', 'e', '5'};
    assert_int_equal(lp_gpu_uuid_hip(text, out, sizeof out), 0);
    assert_string_equal(out, "GPU-c4c35f0b5ef7d2e5");
    const char upper[16] = {'C', '4', 'C', '3', '5', 'F', '0', 'B',
                            '5', 'E', 'F', '7', 'D', '2', 'E', '5'};
    assert_int_equal(lp_gpu_uuid_hip(upper, out, sizeof out), 0);
    assert_string_equal(out, "GPU-c4c35f0b5ef7d2e5");

    /* a GPU without a unique ID ("GPU-XX"), raw bytes, zeros: no UUID */
    const char xx[16] = {'X', 'X'};
    memset(out, 'x', sizeof out);
    assert_int_equal(lp_gpu_uuid_hip(xx, out, sizeof out), -1);
    assert_string_equal(out, "");
    const char raw[16] = {(char)0x5b, (char)0x2c, (char)0x9d, (char)0x2e};
    assert_int_equal(lp_gpu_uuid_hip(raw, out, sizeof out), -1);
    const char zero[16] = {0};
    assert_int_equal(lp_gpu_uuid_hip(zero, out, sizeof out), -1);
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pci_bus_id),
        cmocka_unit_test(test_uuid_nvidia),
        cmocka_unit_test(test_uuid_hip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
