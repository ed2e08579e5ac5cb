#ifndef KASSA_CUMOCKDEV_SHIM_H
#define KASSA_CUMOCKDEV_SHIM_H
#include <umockdev.h>
#endif
