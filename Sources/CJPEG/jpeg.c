#include "CJPEG.h"
#include <stdio.h>
#include <string.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdlib.h>
#include <jpeglib.h>
#include <jerror.h>

typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf exit;
    int warning;          // the first refused warning's code, or 0
    char text[JMSG_LENGTH_MAX];
} StrictErrors;

static void on_error(j_common_ptr info) {
    StrictErrors *errors = (StrictErrors *)info->err;
    (*info->err->format_message)(info, errors->text);
    longjmp(errors->exit, 1);
}

static void on_message(j_common_ptr info, int level) {
    StrictErrors *errors = (StrictErrors *)info->err;
    if (level >= 0) return;  // trace messages
    // A warning: corrupt data that libjpeg would paper over. Only padding between markers loses nothing.
    if (info->err->msg_code == JWRN_EXTRANEOUS_DATA || errors->warning) return;
    errors->warning = info->err->msg_code;
    (*info->err->format_message)(info, errors->text);
}

static void limit_scans(j_common_ptr info) {
    j_decompress_ptr decompress = (j_decompress_ptr)info;
    if (decompress->is_decompressor && decompress->input_scan_number > 500) {
        StrictErrors *errors = (StrictErrors *)info->err;
        snprintf(errors->text, sizeof errors->text, "the progressive JPEG has more than 500 scans");
        longjmp(errors->exit, 1);
    }
}

// libjpeg's error manager with Kassa's strict hooks: errors return through `exit`, refused warnings are recorded.
static void strict_errors(j_decompress_ptr info, StrictErrors *errors) {
    memset(errors, 0, sizeof *errors);
    info->err = jpeg_std_error(&errors->base);
    errors->base.error_exit = on_error;
    errors->base.emit_message = on_message;
}

static void copy_message(const char *text, char *message, size_t length) {
    if (length == 0) return;
    snprintf(message, length, "%s", text);
}

struct kassa_jpeg_progress {
    long rows;
    int waiting;
    pthread_mutex_t mutex;
    pthread_cond_t condition;
};

kassa_jpeg_progress *kassa_jpeg_progress_new(void) {
    kassa_jpeg_progress *progress = calloc(1, sizeof *progress);
    if (!progress) return NULL;
    pthread_mutex_init(&progress->mutex, NULL);
    pthread_cond_init(&progress->condition, NULL);
    return progress;
}

void kassa_jpeg_progress_free(kassa_jpeg_progress *progress) {
    if (!progress) return;
    pthread_mutex_destroy(&progress->mutex);
    pthread_cond_destroy(&progress->condition);
    free(progress);
}

// The count is stored before `waiting` is read and `waiting` is set before the count is read again, both in the
// single total order (seq_cst): either the reader sees the new count, or the decoder sees the reader waiting and
// wakes it under the mutex.
static void publish(kassa_jpeg_progress *progress, long value) {
    if (!progress) return;
    __atomic_store_n(&progress->rows, value, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&progress->waiting, __ATOMIC_SEQ_CST)) {
        pthread_mutex_lock(&progress->mutex);
        pthread_cond_broadcast(&progress->condition);
        pthread_mutex_unlock(&progress->mutex);
    }
}

int kassa_jpeg_wait_rows(kassa_jpeg_progress *progress, long row) {
    for (int spin = 0; spin < 256; spin++) {
        long rows = __atomic_load_n(&progress->rows, __ATOMIC_ACQUIRE);
        if (rows < 0) return 0;
        if (rows > row) return 1;
    }
    pthread_mutex_lock(&progress->mutex);
    __atomic_store_n(&progress->waiting, 1, __ATOMIC_SEQ_CST);
    long rows;
    while ((rows = __atomic_load_n(&progress->rows, __ATOMIC_SEQ_CST)) >= 0 && rows <= row) {
        pthread_cond_wait(&progress->condition, &progress->mutex);
    }
    __atomic_store_n(&progress->waiting, 0, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&progress->mutex);
    return rows >= 0;
}

int kassa_jpeg_size(const unsigned char *data, unsigned long size, int *width, int *height, char *message, size_t length) {
    struct jpeg_decompress_struct info;
    StrictErrors errors;
    strict_errors(&info, &errors);
    if (setjmp(errors.exit)) {
        copy_message(errors.text, message, length);
        jpeg_destroy_decompress(&info);
        return -1;
    }
    jpeg_create_decompress(&info);
    jpeg_mem_src(&info, data, size);
    jpeg_read_header(&info, TRUE);
    *width = (int)info.image_width;
    *height = (int)info.image_height;
    jpeg_destroy_decompress(&info);
    if (errors.warning) {
        copy_message(errors.text, message, length);
        return -1;
    }
    return 0;
}

int kassa_jpeg_decode_gray(const unsigned char *data, unsigned long size, unsigned char *pixels, int width, int height,
                           kassa_jpeg_progress *rows, char *message, size_t length) {
    struct jpeg_decompress_struct info;
    struct jpeg_progress_mgr progress;
    StrictErrors errors;
    strict_errors(&info, &errors);
    if (setjmp(errors.exit)) {
        copy_message(errors.text, message, length);
        jpeg_destroy_decompress(&info);
        publish(rows, -1);
        return -1;
    }
    jpeg_create_decompress(&info);
    memset(&progress, 0, sizeof progress);
    progress.progress_monitor = limit_scans;
    info.progress = &progress;
    jpeg_mem_src(&info, data, size);
    jpeg_read_header(&info, TRUE);
    if ((int)info.image_width != width || (int)info.image_height != height) {
        snprintf(errors.text, sizeof errors.text, "the JPEG's size changed between reads");
        longjmp(errors.exit, 1);
    }
    info.out_color_space = JCS_GRAYSCALE;
    info.dct_method = JDCT_ISLOW;
    jpeg_start_decompress(&info);
    long done = 0;
    while (info.output_scanline < info.output_height) {
        JSAMPROW batch[16];
        int count = 0;
        for (; count < 16 && info.output_scanline + count < info.output_height; count++) {
            batch[count] = pixels + (size_t)(info.output_scanline + count) * (size_t)width;
        }
        JDIMENSION read = jpeg_read_scanlines(&info, batch, (JDIMENSION)count);
        if (read == 0) {
            snprintf(errors.text, sizeof errors.text, "the JPEG data ended before the image did");
            longjmp(errors.exit, 1);
        }
        done += (long)read;
        if (!errors.warning) publish(rows, done);
    }
    jpeg_finish_decompress(&info);
    jpeg_destroy_decompress(&info);
    if (errors.warning) {
        copy_message(errors.text, message, length);
        publish(rows, -1);
        return -1;
    }
    publish(rows, height);
    return 0;
}
