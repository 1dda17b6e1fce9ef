/*
 * A small RFC 4180 CSV reader for the results records' flat CSV: a header
 * row naming the columns, then rows of fields; fields may be quoted
 * ("a,b", quotes doubled inside).  Columns are found by name, so readers
 * do not depend on column order and tolerate columns added later.
 */
#ifndef POOLBENCH_CSV_H
#define POOLBENCH_CSV_H

#include <stddef.h>

#include "pool.h"

typedef struct pb_csv {
    size_t ncols;
    char **header;     /* ncols names */
    size_t nrows;
    char ***rows;      /* nrows rows of ncols fields (short rows padded "") */
} pb_csv;

/* Loads path.  PB_ERR_IO when it cannot be read (msg says why),
 * PB_ERR_PARSE for an empty file, an unterminated quote, or a row with more
 * fields than the header; PB_ERR_NOMEM.  *t is empty on failure. */
pb_status pb_csv_load(const char *path, pb_csv *t, char *msg, size_t msg_len);

/* Index of the column named `name`, or -1. */
int pb_csv_col(const pb_csv *t, const char *name);

/* Field (row, col); "" for col < 0 or out of range. */
const char *pb_csv_get(const pb_csv *t, size_t row, int col);

void pb_csv_free(pb_csv *t);

#endif
