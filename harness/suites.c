/* The built-in suites: named lists of problem strings, embedded so the
 * program needs no data files.  Every string carries its output size as
 * oh/ow tokens, worked out by hand: the parser checks them, so a wrong
 * hand computation (or a changed output rule) fails the tests.  Network
 * layers carry a label naming the layer; mb1 unless stated. */
#include "problem.h"

#include <string.h>

static const char *const seed[] = {
    /* the 4x4 worked example of the README and `poolbench show` */
    "mb1ic1_ih4iw4_oh2ow2_kh2kw2",
    /* the first VGG-sized halving: 64x224x224 -> 64x112x112 */
    "mb1ic64_ih224iw224_oh112ow112_kh2kw2_sh2sw2",
};

static const char *const resnet50[] = {
    /* stem: (112 + 2 - 3) / 2 + 1 = 56 */
    "nresnet50:maxpool_mb1ic64_ih112iw112_oh56ow56_kh3kw3_sh2sw2_ph1pw1",
    /* AdaptiveAvgPool2d(1) before the classifier */
    "nresnet50:avgpool_mb1ic2048_ih7iw7_oh1ow1_global",
};

static const char *const vgg16[] = {
    "nvgg16:pool1_mb1ic64_ih224iw224_oh112ow112_kh2kw2_sh2sw2",
    "nvgg16:pool2_mb1ic128_ih112iw112_oh56ow56_kh2kw2_sh2sw2",
    "nvgg16:pool3_mb1ic256_ih56iw56_oh28ow28_kh2kw2_sh2sw2",
    "nvgg16:pool4_mb1ic512_ih28iw28_oh14ow14_kh2kw2_sh2sw2",
    "nvgg16:pool5_mb1ic512_ih14iw14_oh7ow7_kh2kw2_sh2sw2",
};

static const char *const alexnet[] = {
    /* overlapping 3x3/2: (55-3)/2+1 = 27, (27-3)/2+1 = 13, (13-3)/2+1 = 6 */
    "nalexnet:pool1_mb1ic96_ih55iw55_oh27ow27_kh3kw3_sh2sw2",
    "nalexnet:pool2_mb1ic256_ih27iw27_oh13ow13_kh3kw3_sh2sw2",
    "nalexnet:pool5_mb1ic256_ih13iw13_oh6ow6_kh3kw3_sh2sw2",
};

/* GoogLeNet (Inception v1, the Caffe model; torchvision keeps the same
 * shapes).  Caffe rounds pooling outputs up, hence ceil. */
static const char *const googlenet[] = {
    /* 3x3/2 ceil: ceil((112-3)/2)+1 = 56, ceil(53/2)+1 = 28,
     * ceil(25/2)+1 = 14, ceil(11/2)+1 = 7; no last window is dropped */
    "ngooglenet:pool1_mb1ic64_ih112iw112_oh56ow56_kh3kw3_sh2sw2_ceil",
    "ngooglenet:pool2_mb1ic192_ih56iw56_oh28ow28_kh3kw3_sh2sw2_ceil",
    "ngooglenet:pool3_mb1ic480_ih28iw28_oh14ow14_kh3kw3_sh2sw2_ceil",
    "ngooglenet:pool4_mb1ic832_ih14iw14_oh7ow7_kh3kw3_sh2sw2_ceil",
    /* the pool branch of each inception module, 3x3/1 p1 (ceil: no effect
     * at stride 1), one line per distinct input: 3a 192x28, 3b 256x28,
     * 4a 480x14, 4b/4c/4d 512x14, 4e 528x14, 5a/5b 832x7 */
    "ngooglenet:3a-pool_mb1ic192_ih28iw28_oh28ow28_kh3kw3_sh1sw1_ph1pw1_ceil",
    "ngooglenet:3b-pool_mb1ic256_ih28iw28_oh28ow28_kh3kw3_sh1sw1_ph1pw1_ceil",
    "ngooglenet:4a-pool_mb1ic480_ih14iw14_oh14ow14_kh3kw3_sh1sw1_ph1pw1_ceil",
    "ngooglenet:4bcd-pool_mb1ic512_ih14iw14_oh14ow14_kh3kw3_sh1sw1_ph1pw1_ceil",
    "ngooglenet:4e-pool_mb1ic528_ih14iw14_oh14ow14_kh3kw3_sh1sw1_ph1pw1_ceil",
    "ngooglenet:5ab-pool_mb1ic832_ih7iw7_oh7ow7_kh3kw3_sh1sw1_ph1pw1_ceil",
    /* pool5/7x7_s1: the final 7x7 average, written as Caffe has it (a
     * 7x7 window, stride 1) rather than as global */
    "ngooglenet:pool5_mb1ic1024_ih7iw7_oh1ow1_kh7kw7_sh1sw1",
};

static const char *const global[] = {
    "mb1ic2048_ih7iw7_oh1ow1_global",
    "mb1ic512_ih7iw7_oh1ow1_global",
    "mb32ic1280_ih7iw7_oh1ow1_global",
};

/* Small problems at the corners of the rules, written in the short forms
 * on purpose.  out = floor((in + plo + phi - d*(k-1) - 1 + (ceil ? s-1 : 0)) / s) + 1,
 * ceil mode dropping the last window when (out-1)*s >= in + plo. */
static const char *const edge[] = {
    /* 1x1 planes and degenerate windows */
    "mb1ic1_ih1oh1ow1_k1",               /* (1-1)/1+1 = 1 */
    "mb1ic3_ih1oh1ow1_global",           /* global on 1x1 */
    "mb1ic5_ih1iw7_oh1ow3_kh1kw3_sw2",   /* a row: w (7-3)/2+1 = 3 */
    "mb1ic7_ih7iw1_oh3ow1_kh3kw1_sh2sw1",/* a column: h (7-3)/2+1 = 3 */
    "mb1ic1_ih1oh2ow2_k2s1p1",           /* 1x1 padded: (1+2-2)/1+1 = 2 */
    /* window = plane */
    "mb1ic9_ih5oh1ow1_k5",               /* (5-5)/5+1 = 1 */
    "mb1ic13_ih7iw5_oh1ow1_kh7kw5_s1",   /* non-square, stride 1: 1 */
    "mb1ic7_ih3iw2_oh1ow1_kh3kw2",       /* 3x2 window on 3x2 */
    "mb1ic5_ih2oh1ow1_k2",               /* 2x2 on 2x2 */
    /* global on odd planes */
    "mb1ic15_ih5oh1ow1_global",
    "mb1ic17_ih13iw11_oh1ow1_global",
    "mb1ic31_ih37oh1ow1_global",
    /* k > s: overlapping windows */
    "mb1ic3_ih9oh7ow7_k3s1",             /* (9-3)/1+1 = 7 */
    "mb1ic5_ih10oh4ow4_k3s2",            /* (10-3)/2+1 = 3+1 = 4 */
    "mb1ic7_ih11iw13_oh4ow5_k5s2",       /* (11-5)/2+1 = 4, (13-5)/2+1 = 5 */
    "mb1ic33_ih37iw35_oh18ow17_k3s2",    /* 34/2+1 = 18, 32/2+1 = 17 */
    /* k < s: gaps between windows */
    "mb1ic9_ih9oh3ow3_k2s3",             /* (9-2)/3+1 = 2+1 = 3 */
    "mb1ic13_ih10oh5ow5_k1s2",           /* (10-1)/2+1 = 4+1 = 5 */
    "mb1ic15_ih13oh3ow3_k2s4",           /* (13-2)/4+1 = 2+1 = 3 */
    "mb1ic17_ih7oh3ow3_k2s3p1",          /* (7+2-2)/3+1 = 2+1 = 3 */
    /* padding, symmetric and asymmetric */
    "mb1ic3_ih5oh3ow3_k3s2p1",           /* (5+2-3)/2+1 = 3 */
    "mb1ic9_ih6oh6ow6_k3s1p1",           /* "same": (6+2-3)/1+1 = 6 */
    "mb1ic7_ih4oh5ow5_k4s1p2",           /* window past the plane: (4+4-4)/1+1 = 5 */
    "mb1ic5_ih6oh3ow3_k3s2_pt1pb0pl0pr1",/* (6+1-3)/2+1 = 3 both axes */
    "mb1ic7_ih5iw7_oh4ow6_k3s1_pt1pl1",  /* (5+1-3)+1 = 4, (7+1-3)+1 = 6 */
    "mb1ic9_ih8oh4ow4_k4s2_pt2pb1pl1pr2",/* (8+3-4)/2+1 = 3+1 = 4 */
    "mb1ic13_ih37iw1_oh13ow1_kh5kw1_sh3sw1_ph2pw0", /* (37+4-5)/3+1 = 13 */
    /* dilation */
    "mb1ic3_ih7oh3ow3_k3s1d2",           /* (7-4-1)/1+1 = 3 */
    "mb1ic5_ih9oh4ow4_k3s2d2p1",         /* (9+2-4-1)/2+1 = 4 */
    "mb1ic7_ih8iw9_oh5ow5_kh2kw3_s1_dh3dw2", /* (8-3-1)+1 = 5, (9-4-1)+1 = 5 */
    "mb1ic9_ih3oh3ow3_k2s1d2p1",         /* (3+2-2-1)+1 = 3; window 0 taps -1, 1 */
    "mb1ic5_ih9oh3ow3_k3s2d3p1",         /* (9+2-6-1)/2+1 = 3 */
    /* ceil mode */
    "mb1ic13_ih5oh3ow3_k2s2_ceil",       /* (5-2+1)/2+1 = 3, floor mode 2 */
    "mb1ic15_ih6oh4ow4_k3s2p1_ceil",     /* (6+2-3+1)/2+1 = 4, 3*2 = 6 < 7 kept;
                                            the last window overhangs the padding */
    "mb1ic17_ih5oh3ow3_k2s2p1_ceil",     /* (5+2-2+1)/2+1 = 4, 3*2 = 6 >= 5+1:
                                            dropped -> 3 */
    "mb1ic31_ih3oh2ow2_k2s2p1_ceil",     /* (3+2-2+1)/2+1 = 3, 2*2 = 4 >= 3+1:
                                            dropped -> 2 */
    "mb1ic33_ih10oh3ow3_k3s3d2_ceil",    /* (10-4-1+2)/3+1 = 3, floor mode 2 */
    "mb1ic3_ih7oh4ow4_k3s2_pt1pb0pl1pr0_ceil", /* (7+1-3+1)/2+1 = 4, 6 < 8 kept */
    /* batch > 1 (stated): n in the offsets of both layouts */
    "mb3ic5_ih7iw6_oh4ow3_k3s2p1",       /* (7+2-3)/2+1 = 4, (6+2-3)/2+1 = 3 */
    "mb2ic3_ih5oh1ow1_global",
};

#define SUITE(n, text) {#n, text, n, sizeof n / sizeof n[0]}
static const pb_suite suites[] = {
    SUITE(seed, "the 4x4 worked example and a 64x224x224 2x2/2 halving"),
    SUITE(resnet50, "ResNet-50: stem 3x3/2 p1 max, final global average"),
    SUITE(vgg16, "VGG-16: its five 2x2/2 max pools"),
    SUITE(alexnet, "AlexNet: its three overlapping 3x3/2 max pools"),
    SUITE(googlenet, "GoogLeNet: 3x3/2 ceil max, inception 3x3/1 p1 max, final 7x7"),
    SUITE(global, "global pooling: 2048x7x7, 512x7x7, 32x1280x7x7"),
    SUITE(edge, "small corner cases: odd sizes, odd channels, gaps, padding, dilation, ceil"),
};

size_t pb_suite_count(void) { return sizeof suites / sizeof suites[0]; }

const pb_suite *pb_suite_get(size_t i) { return i < pb_suite_count() ? &suites[i] : NULL; }

const pb_suite *pb_suite_find(const char *name)
{
    if (!name) return NULL;
    for (size_t i = 0; i < pb_suite_count(); i++)
        if (strcmp(suites[i].name, name) == 0) return &suites[i];
    return NULL;
}
