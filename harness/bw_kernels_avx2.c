/* Bandwidth reference kernels, AVX2 (32-byte vectors); built with -mavx2. */
#define PB_BW_VEC_BYTES 32
#define PB_BW_TABLE pb_bw_table_avx2
#include "bw_kernels.h"
