#ifndef KASSA_CJPEG_H
#define KASSA_CJPEG_H
#include <stddef.h>

/// JPEG decoding to 8-bit luminance through libjpeg's scanline API (libjpeg-turbo, Debian `libjpeg-dev`), strict:
/// any warning other than padding between markers (JWRN_EXTRANEOUS_DATA) fails the decode, as does a progressive image
/// of more than 500 scans. Errors never exit: libjpeg's error_exit returns here through longjmp.
///
/// Each function returns 0 on success, or -1 with a message (NUL-terminated, at most `length` bytes) in `message`.

/// The image's size from its header, without decoding it.
int kassa_jpeg_size(const unsigned char *data, unsigned long size, int *width, int *height, char *message, size_t length);

/// Decodes into `pixels` (width × height bytes, row-major; width and height as kassa_jpeg_size gave them). When
/// `rows` is not NULL, the number of rows decoded so far is stored there (release order) after each batch of
/// scanlines, so another thread can follow; it ends at height on success and at -1 on failure.
int kassa_jpeg_decode_gray(const unsigned char *data, unsigned long size, unsigned char *pixels, int width, int height,
                           long *rows, char *message, size_t length);

/// Reads the row count published by kassa_jpeg_decode_gray (acquire order).
long kassa_jpeg_rows_ready(const long *rows);
#endif
