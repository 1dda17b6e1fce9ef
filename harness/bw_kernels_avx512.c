/* Bandwidth reference kernels, AVX-512 (64-byte vectors); built with
 * -mavx512f. */
#define PB_BW_VEC_BYTES 64
#define PB_BW_TABLE pb_bw_table_avx512
#include "bw_kernels.h"
