/* Bandwidth reference kernels, baseline x86-64 (SSE2, 16-byte vectors). */
#define PB_BW_VEC_BYTES 16
#define PB_BW_TABLE pb_bw_table_baseline
#define PB_BW_STREAM(p, v) _mm_stream_ps((p), (__m128)(v))
#include "bw_kernels.h"
