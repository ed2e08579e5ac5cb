#ifndef KASSA_FAKE_USB_PRINTER_H
#define KASSA_FAKE_USB_PRINTER_H
#include <stddef.h>

/// A programmable USB printer for umockdev testbeds: accepts any bulk OUT, answers DLE EOT n on bulk IN,
/// and leaves IN transfers pending when it has nothing to say, so libusb times out as with a real silent printer.
typedef struct KassaFakeUSBPrinter KassaFakeUSBPrinter;

/// Attaches to `devnode` (e.g. /dev/bus/usb/001/002) of the umockdev testbed `testbed` (a UMockdevTestbed *).
KassaFakeUSBPrinter *kassa_fake_usb_printer_attach(void *testbed, const char *devnode);
/// Copies up to `capacity` received bytes into `buffer`; returns how many bytes were received in total.
size_t kassa_fake_usb_printer_received(KassaFakeUSBPrinter *printer, unsigned char *buffer, size_t capacity);
/// The answer to DLE EOT n (n = 1...4); 0x12 by default.
void kassa_fake_usb_printer_set_status(KassaFakeUSBPrinter *printer, unsigned char n, unsigned char byte);
/// When set, status requests are never answered.
void kassa_fake_usb_printer_set_silent(KassaFakeUSBPrinter *printer, int silent);
void kassa_fake_usb_printer_free(KassaFakeUSBPrinter *printer);
/// Pretends the usblp kernel driver is bound to the printer interface (GETDRIVER answers "usblp").
void kassa_fake_usb_printer_bind_kernel_driver(KassaFakeUSBPrinter *printer);
/// How often the driver was detached and attached, and whether it is bound now.
void kassa_fake_usb_printer_driver_events(KassaFakeUSBPrinter *printer, int *detaches, int *attaches, int *bound);
#endif
