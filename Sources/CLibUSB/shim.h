#ifndef KASSA_CLIBUSB_SHIM_H
#define KASSA_CLIBUSB_SHIM_H
#include <libusb.h>

/* libusb_set_option is variadic and therefore not importable into Swift. */
static inline int kassa_libusb_set_log_level(libusb_context *ctx, int level) {
    return libusb_set_option(ctx, LIBUSB_OPTION_LOG_LEVEL, level);
}
#endif
