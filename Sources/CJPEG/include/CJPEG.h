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

/// How far a decode has come, for a reader on another thread: rows decoded so far (height at the end, -1 on failure).
typedef struct kassa_jpeg_progress kassa_jpeg_progress;
kassa_jpeg_progress *kassa_jpeg_progress_new(void);
void kassa_jpeg_progress_free(kassa_jpeg_progress *progress);

/// Waits until more than `row` rows are decoded (1) or the decode failed (0): a short spin, then a condition
/// variable, so a reader sharing a core with the decoder does not take its time.
int kassa_jpeg_wait_rows(kassa_jpeg_progress *progress, long row);

/// Decodes into `pixels` (width × height bytes, row-major; width and height as kassa_jpeg_size gave them), publishing
/// its progress to `progress` when it is not NULL.
int kassa_jpeg_decode_gray(const unsigned char *data, unsigned long size, unsigned char *pixels, int width, int height,
                           kassa_jpeg_progress *progress, char *message, size_t length);
#endif
