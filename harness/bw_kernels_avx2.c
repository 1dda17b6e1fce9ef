/* Bandwidth reference kernels, AVX2 (32-byte vectors); built with -mavx2. */
#define PB_BW_VEC_BYTES 32
#define PB_BW_TABLE pb_bw_table_avx2
#define PB_BW_STREAM(p, v) _mm256_stream_ps((p), (__m256)(v))
#include "bw_kernels.h"
