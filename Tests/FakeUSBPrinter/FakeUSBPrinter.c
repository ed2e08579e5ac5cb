#include "FakeUSBPrinter.h"
#include <errno.h>
#include <linux/ioctl.h>
#include <linux/usbdevice_fs.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <umockdev.h>

struct KassaFakeUSBPrinter {
    UMockdevIoctlBase *handler;
    pthread_mutex_t mutex;
    unsigned char *received;
    size_t received_length, received_capacity, scanned;
    unsigned char status[5];
    int silent;
    int kernel_driver_bound, detaches, attaches;
    unsigned char answers[256];
    size_t answer_count;
    GList *pending_in;  /* UMockdevIoctlData of submitted IN URBs */
    GList *completed;   /* finished URBs waiting to be reaped */
    GList *discarded;   /* cancelled URBs waiting to be reaped */
};

static void append_received(KassaFakeUSBPrinter *p, const unsigned char *bytes, size_t length) {
    if (p->received_length + length > p->received_capacity) {
        p->received_capacity = (p->received_length + length) * 2 + 256;
        p->received = realloc(p->received, p->received_capacity);
    }
    memcpy(p->received + p->received_length, bytes, length);
    p->received_length += length;
    /* Queue an answer for every complete DLE EOT n not seen yet (a request may span two transfers). */
    while (p->scanned + 2 < p->received_length) {
        const unsigned char *r = p->received + p->scanned;
        if (r[0] == 0x10 && r[1] == 0x04) {
            unsigned char n = r[2];
            if (!p->silent && n >= 1 && n <= 4 && p->answer_count < sizeof p->answers)
                p->answers[p->answer_count++] = p->status[n];
            p->scanned += 3;
        } else {
            p->scanned += 1;
        }
    }
}

static gint same_address(gconstpointer data, gconstpointer address) {
    return ((const UMockdevIoctlData *)data)->client_addr != (gulong)address;
}

static void reap(UMockdevIoctlClient *client, UMockdevIoctlData *arg, UMockdevIoctlData *urb_data) {
    UMockdevIoctlData *pointer = umockdev_ioctl_data_resolve(arg, 0, sizeof(gpointer), NULL);
    umockdev_ioctl_data_set_ptr(pointer, 0, urb_data);
    umockdev_ioctl_client_complete(client, 0, 0);
    umockdev_ioctl_data_unref(pointer);
}

static gboolean handle_ioctl(UMockdevIoctlBase *handler, UMockdevIoctlClient *client, KassaFakeUSBPrinter *p) {
    (void)handler;
    gulong request = umockdev_ioctl_client_get_request(client);
    UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(client);
    gboolean handled = TRUE;
    pthread_mutex_lock(&p->mutex);
    switch (request) {
    case USBDEVFS_GET_CAPABILITIES: {
        UMockdevIoctlData *caps = umockdev_ioctl_data_resolve(arg, 0, sizeof(guint32), NULL);
        *(guint32 *)caps->data = USBDEVFS_CAP_BULK_CONTINUATION | USBDEVFS_CAP_NO_PACKET_SIZE_LIM |
                                 USBDEVFS_CAP_REAP_AFTER_DISCONNECT | USBDEVFS_CAP_ZERO_PACKET;
        umockdev_ioctl_client_complete(client, 0, 0);
        umockdev_ioctl_data_unref(caps);
        break;
    }
    case USBDEVFS_CLAIMINTERFACE:
    case USBDEVFS_RELEASEINTERFACE:
    case USBDEVFS_CLEAR_HALT:
    case USBDEVFS_RESET:
    case USBDEVFS_RESETEP:
        umockdev_ioctl_client_complete(client, 0, 0);
        break;
    case USBDEVFS_GETDRIVER: {
        if (!p->kernel_driver_bound) {
            umockdev_ioctl_client_complete(client, -1, ENODATA);
            break;
        }
        UMockdevIoctlData *data = umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_getdriver), NULL);
        struct usbdevfs_getdriver *driver = (struct usbdevfs_getdriver *)data->data;
        strncpy(driver->driver, "usblp", sizeof driver->driver - 1);
        umockdev_ioctl_client_complete(client, 0, 0);
        umockdev_ioctl_data_unref(data);
        break;
    }
    case USBDEVFS_IOCTL: {
        UMockdevIoctlData *data = umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_ioctl), NULL);
        struct usbdevfs_ioctl *command = (struct usbdevfs_ioctl *)data->data;
        if (command->ioctl_code == (int)USBDEVFS_DISCONNECT && p->kernel_driver_bound) {
            p->kernel_driver_bound = 0;
            p->detaches++;
            umockdev_ioctl_client_complete(client, 0, 0);
        } else if (command->ioctl_code == (int)USBDEVFS_CONNECT && !p->kernel_driver_bound) {
            p->kernel_driver_bound = 1;
            p->attaches++;
            umockdev_ioctl_client_complete(client, 0, 0);
        } else {
            umockdev_ioctl_client_complete(client, -1, ENODATA);
        }
        umockdev_ioctl_data_unref(data);
        break;
    }
    case USBDEVFS_DISCONNECT_CLAIM:
        umockdev_ioctl_client_complete(client, -1, ENOTTY);
        break;
    case USBDEVFS_SUBMITURB: {
        UMockdevIoctlData *urb_data = umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_urb), NULL);
        struct usbdevfs_urb *urb = (struct usbdevfs_urb *)urb_data->data;
        if (urb->type != USBDEVFS_URB_TYPE_BULK) {
            umockdev_ioctl_client_complete(client, -1, EINVAL);
            umockdev_ioctl_data_unref(urb_data);
            break;
        }
        if (urb->endpoint & 0x80) {
            p->pending_in = g_list_append(p->pending_in, urb_data);
        } else {
            UMockdevIoctlData *buffer =
                umockdev_ioctl_data_resolve(urb_data, G_STRUCT_OFFSET(struct usbdevfs_urb, buffer), urb->buffer_length, NULL);
            append_received(p, buffer->data, (size_t)urb->buffer_length);
            umockdev_ioctl_data_unref(buffer);
            urb->actual_length = urb->buffer_length;
            urb->status = 0;
            p->completed = g_list_append(p->completed, urb_data);
        }
        umockdev_ioctl_client_complete(client, 0, 0);
        break;
    }
    case USBDEVFS_REAPURB:
    case USBDEVFS_REAPURBNDELAY: {
        if (p->completed) {
            UMockdevIoctlData *urb_data = p->completed->data;
            p->completed = g_list_delete_link(p->completed, p->completed);
            reap(client, arg, urb_data);
        } else if (p->discarded) {
            UMockdevIoctlData *urb_data = p->discarded->data;
            p->discarded = g_list_delete_link(p->discarded, p->discarded);
            ((struct usbdevfs_urb *)urb_data->data)->status = -ENOENT;
            reap(client, arg, urb_data);
        } else if (p->pending_in && p->answer_count > 0) {
            UMockdevIoctlData *urb_data = p->pending_in->data;
            p->pending_in = g_list_delete_link(p->pending_in, p->pending_in);
            struct usbdevfs_urb *urb = (struct usbdevfs_urb *)urb_data->data;
            size_t count = p->answer_count < (size_t)urb->buffer_length ? p->answer_count : (size_t)urb->buffer_length;
            memcpy(urb->buffer, p->answers, count);
            memmove(p->answers, p->answers + count, p->answer_count - count);
            p->answer_count -= count;
            urb->actual_length = (int)count;
            urb->status = 0;
            reap(client, arg, urb_data);
        } else {
            umockdev_ioctl_client_complete(client, -1, EAGAIN);
        }
        break;
    }
    case USBDEVFS_DISCARDURB: {
        GList *link = g_list_find_custom(p->pending_in, *(void **)arg->data, same_address);
        if (link) {
            p->discarded = g_list_append(p->discarded, link->data);
            p->pending_in = g_list_delete_link(p->pending_in, link);
            umockdev_ioctl_client_complete(client, 0, 0);
        } else {
            umockdev_ioctl_client_complete(client, -1, EINVAL);
        }
        break;
    }
    default:
        handled = FALSE;
    }
    pthread_mutex_unlock(&p->mutex);
    return handled;
}

KassaFakeUSBPrinter *kassa_fake_usb_printer_attach(void *testbed, const char *devnode) {
    KassaFakeUSBPrinter *p = calloc(1, sizeof *p);
    pthread_mutex_init(&p->mutex, NULL);
    for (int n = 1; n <= 4; n++) p->status[n] = 0x12;
    p->handler = umockdev_ioctl_base_new();
    g_signal_connect(p->handler, "handle-ioctl", G_CALLBACK(handle_ioctl), p);
    if (!umockdev_testbed_attach_ioctl((UMockdevTestbed *)testbed, devnode, p->handler, NULL)) {
        kassa_fake_usb_printer_free(p);
        return NULL;
    }
    return p;
}

size_t kassa_fake_usb_printer_received(KassaFakeUSBPrinter *p, unsigned char *buffer, size_t capacity) {
    pthread_mutex_lock(&p->mutex);
    size_t total = p->received_length;
    memcpy(buffer, p->received, total < capacity ? total : capacity);
    pthread_mutex_unlock(&p->mutex);
    return total;
}

void kassa_fake_usb_printer_set_status(KassaFakeUSBPrinter *p, unsigned char n, unsigned char byte) {
    pthread_mutex_lock(&p->mutex);
    if (n >= 1 && n <= 4) p->status[n] = byte;
    pthread_mutex_unlock(&p->mutex);
}

void kassa_fake_usb_printer_set_silent(KassaFakeUSBPrinter *p, int silent) {
    pthread_mutex_lock(&p->mutex);
    p->silent = silent;
    pthread_mutex_unlock(&p->mutex);
}

void kassa_fake_usb_printer_free(KassaFakeUSBPrinter *p) {
    if (!p) return;
    g_clear_object(&p->handler);
    g_list_free_full(p->pending_in, (GDestroyNotify)umockdev_ioctl_data_unref);
    g_list_free_full(p->completed, (GDestroyNotify)umockdev_ioctl_data_unref);
    g_list_free_full(p->discarded, (GDestroyNotify)umockdev_ioctl_data_unref);
    free(p->received);
    pthread_mutex_destroy(&p->mutex);
    free(p);
}

void kassa_fake_usb_printer_bind_kernel_driver(KassaFakeUSBPrinter *p) {
    pthread_mutex_lock(&p->mutex);
    p->kernel_driver_bound = 1;
    pthread_mutex_unlock(&p->mutex);
}

void kassa_fake_usb_printer_driver_events(KassaFakeUSBPrinter *p, int *detaches, int *attaches, int *bound) {
    pthread_mutex_lock(&p->mutex);
    *detaches = p->detaches;
    *attaches = p->attaches;
    *bound = p->kernel_driver_bound;
    pthread_mutex_unlock(&p->mutex);
}
