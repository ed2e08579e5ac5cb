#ifndef KASSA_CUDEV_SHIM_H
#define KASSA_CUDEV_SHIM_H
#include <libudev.h>
#endif
