/* Bandwidth reference kernels, AVX-512 (64-byte vectors); built with
 * -mavx512f. */
#define PB_BW_VEC_BYTES 64
#define PB_BW_TABLE pb_bw_table_avx512
#define PB_BW_STREAM(p, v) _mm512_stream_ps((p), (__m512)(v))
#include "bw_kernels.h"
